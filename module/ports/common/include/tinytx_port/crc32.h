/*
 * CRC-32 of IEEE 802.3 (reflected polynomial 0xEDB88320, initial value and final XOR
 * 0xFFFFFFFF): the CRC of zlib.crc32 and of tinytx weight images.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef TINYTX_PORT_CRC32_H
#define TINYTX_PORT_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * CRC of `len` bytes at `data`, continuing `crc` (0 to start):
 * tinytx_port_crc32(tinytx_port_crc32(0, a, n), b, m) is the CRC of a followed by b.
 */
uint32_t tinytx_port_crc32(uint32_t crc, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_PORT_CRC32_H */
