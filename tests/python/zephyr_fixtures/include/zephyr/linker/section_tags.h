/* Stand-in for <zephyr/linker/section_tags.h> in tinytx's CI. */
#ifndef TINYTX_STUB_ZEPHYR_SECTION_TAGS_H
#define TINYTX_STUB_ZEPHYR_SECTION_TAGS_H
#define __dtcm_bss_section __attribute__((section(".dtcm_bss")))
#endif
