/* Stand-in for <zephyr/devicetree.h> in tinytx's CI (no devicetree macro is used there). */
#ifndef TINYTX_STUB_ZEPHYR_DEVICETREE_H
#define TINYTX_STUB_ZEPHYR_DEVICETREE_H
#endif
