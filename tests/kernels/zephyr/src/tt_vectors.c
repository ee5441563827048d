/*
 * The built-in vectors as a read-only stdio stream. With picolibc (Zephyr's default C
 * library) the stream is a tinystdio device whose get() walks the array; other C
 * libraries (newlib, glibc) get fmemopen().
 */
#if !defined(__PICOLIBC__)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdio.h>

#include "tt_vectors.h"

/* tt_vectors.inc: the bytes of the vector file, "0x54, 0x54, ...". */
static const unsigned char vectors[] = {
#include "tt_vectors.inc"
};

#if defined(__PICOLIBC__)

static size_t position;

static int vectors_get(FILE *f)
{
	(void)f;
	if (position >= sizeof(vectors)) {
		return _FDEV_EOF;
	}
	return vectors[position++];
}

static FILE vectors_stream = FDEV_SETUP_STREAM(NULL, vectors_get, NULL, _FDEV_SETUP_READ);

FILE *tt_vectors_open(void)
{
	position = 0;
	clearerr(&vectors_stream);
	return &vectors_stream;
}

void tt_vectors_close(FILE *f)
{
	(void)f;
}

#else /* !__PICOLIBC__ */

FILE *tt_vectors_open(void)
{
	return fmemopen((void *)vectors, sizeof(vectors), "rb");
}

void tt_vectors_close(FILE *f)
{
	if (f != NULL) {
		fclose(f);
	}
}

#endif /* __PICOLIBC__ */
