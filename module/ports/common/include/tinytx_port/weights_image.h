/*
 * Weight images: a model's constant tensors in flash, written by `tinytx weights-hex`
 * (format: scripts/tinytx/core/weights_image.py). Before using one, the firmware checks the
 * magic, the format version, the model hash against the one its generated code expects,
 * the payload length and the CRC-32, and refuses the image on any mismatch.
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef TINYTX_PORT_WEIGHTS_IMAGE_H
#define TINYTX_PORT_WEIGHTS_IMAGE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TINYTX_WIMG_VERSION 1u
#define TINYTX_WIMG_HEADER_BYTES 48u
#define TINYTX_WIMG_HASH_BYTES 32u

typedef enum {
	TINYTX_WIMG_OK = 0,
	TINYTX_WIMG_ERR_ARGUMENT,   /* NULL pointer or partition smaller than a header */
	TINYTX_WIMG_ERR_MAGIC,      /* no image: the first bytes are not "TTXW" */
	TINYTX_WIMG_ERR_VERSION,    /* format version or header size this firmware cannot read */
	TINYTX_WIMG_ERR_HASH,       /* the image holds another model */
	TINYTX_WIMG_ERR_LENGTH,     /* payload length differs from the model's or overflows */
	TINYTX_WIMG_ERR_CRC,        /* the image is damaged */
} tinytx_wimg_status;

/* What the header said, for diagnostics (filled as far as the checks got). */
typedef struct {
	uint32_t version;
	uint32_t header_bytes;
	uint32_t payload_bytes;
	uint32_t crc_stored;
	uint32_t crc_computed;
	uint8_t hash[TINYTX_WIMG_HASH_BYTES];
} tinytx_wimg_info;

/*
 * Check the image at `partition` (`partition_bytes` long) and, when it is sound and holds
 * the model whose hash is `expected_hash` with `expected_payload_bytes` of tensors, set
 * `*payload` to its first tensor byte. `info` may be NULL.
 */
tinytx_wimg_status tinytx_port_wimg_open(const uint8_t *partition, uint32_t partition_bytes,
					 const uint8_t expected_hash[TINYTX_WIMG_HASH_BYTES],
					 uint32_t expected_payload_bytes, const uint8_t **payload,
					 tinytx_wimg_info *info);

/* A short English description of a status, for the console. */
const char *tinytx_port_wimg_strerror(tinytx_wimg_status status);

#ifdef __cplusplus
}
#endif

#endif /* TINYTX_PORT_WEIGHTS_IMAGE_H */
