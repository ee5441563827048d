/*
 * Checks of a weight image in flash; see tinytx_port/weights_image.h.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "tinytx_port/weights_image.h"

#include <stddef.h>

#include "tinytx_port/crc32.h"

#define OFFSET_VERSION 4u
#define OFFSET_HEADER_BYTES 6u
#define OFFSET_HASH 8u
#define OFFSET_LENGTH 40u
#define OFFSET_CRC 44u

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

tinytx_wimg_status tinytx_port_wimg_open(const uint8_t *partition, uint32_t partition_bytes,
					 const uint8_t expected_hash[TINYTX_WIMG_HASH_BYTES],
					 uint32_t expected_payload_bytes, const uint8_t **payload,
					 tinytx_wimg_info *info)
{
	tinytx_wimg_info scratch;
	uint32_t i;
	uint32_t crc;

	if (info == NULL) {
		info = &scratch;
	}
	for (i = 0; i < TINYTX_WIMG_HASH_BYTES; i++) {
		info->hash[i] = 0;
	}
	info->version = info->header_bytes = info->payload_bytes = 0;
	info->crc_stored = info->crc_computed = 0;
	if (partition == NULL || expected_hash == NULL || payload == NULL ||
	    partition_bytes < TINYTX_WIMG_HEADER_BYTES) {
		return TINYTX_WIMG_ERR_ARGUMENT;
	}
	*payload = NULL;
	if (partition[0] != 'T' || partition[1] != 'T' || partition[2] != 'X' ||
	    partition[3] != 'W') {
		return TINYTX_WIMG_ERR_MAGIC;
	}
	info->version = le16(partition + OFFSET_VERSION);
	info->header_bytes = le16(partition + OFFSET_HEADER_BYTES);
	if (info->version != TINYTX_WIMG_VERSION || info->header_bytes != TINYTX_WIMG_HEADER_BYTES) {
		return TINYTX_WIMG_ERR_VERSION;
	}
	for (i = 0; i < TINYTX_WIMG_HASH_BYTES; i++) {
		info->hash[i] = partition[OFFSET_HASH + i];
	}
	for (i = 0; i < TINYTX_WIMG_HASH_BYTES; i++) {
		if (info->hash[i] != expected_hash[i]) {
			return TINYTX_WIMG_ERR_HASH;
		}
	}
	info->payload_bytes = le32(partition + OFFSET_LENGTH);
	if (info->payload_bytes != expected_payload_bytes ||
	    info->payload_bytes > partition_bytes - TINYTX_WIMG_HEADER_BYTES) {
		return TINYTX_WIMG_ERR_LENGTH;
	}
	info->crc_stored = le32(partition + OFFSET_CRC);
	crc = tinytx_port_crc32(0u, partition, OFFSET_CRC);
	crc = tinytx_port_crc32(crc, partition + TINYTX_WIMG_HEADER_BYTES, info->payload_bytes);
	info->crc_computed = crc;
	if (crc != info->crc_stored) {
		return TINYTX_WIMG_ERR_CRC;
	}
	*payload = partition + TINYTX_WIMG_HEADER_BYTES;
	return TINYTX_WIMG_OK;
}

const char *tinytx_port_wimg_strerror(tinytx_wimg_status status)
{
	switch (status) {
	case TINYTX_WIMG_OK:
		return "ok";
	case TINYTX_WIMG_ERR_ARGUMENT:
		return "bad argument (no partition, or smaller than an image header)";
	case TINYTX_WIMG_ERR_MAGIC:
		return "no weights image (bad magic)";
	case TINYTX_WIMG_ERR_VERSION:
		return "unsupported image format version";
	case TINYTX_WIMG_ERR_HASH:
		return "model hash mismatch (the image holds another model)";
	case TINYTX_WIMG_ERR_LENGTH:
		return "payload length mismatch";
	case TINYTX_WIMG_ERR_CRC:
		return "CRC32 mismatch (the image is damaged)";
	}
	return "unknown status";
}
