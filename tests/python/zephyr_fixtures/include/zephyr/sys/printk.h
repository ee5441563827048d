/* Stand-in for <zephyr/sys/printk.h> in tinytx's CI: printk prints to stdout. */
#ifndef TINYTX_STUB_ZEPHYR_PRINTK_H
#define TINYTX_STUB_ZEPHYR_PRINTK_H

void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
