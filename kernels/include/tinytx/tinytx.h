/* tinytx: int8 Tiny Transformer kernels. Umbrella header. */
#ifndef TINYTX_TINYTX_H
#define TINYTX_TINYTX_H

#include "tinytx/kernels.h"
#include "tinytx/parallel.h"
#include "tinytx/requant.h"
#include "tinytx/types.h"

#define TINYTX_VERSION_MAJOR 0
#define TINYTX_VERSION_MINOR 1
#define TINYTX_VERSION_PATCH 0

#endif /* TINYTX_TINYTX_H */
