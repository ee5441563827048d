# The kernel source list shared by every build: the plain CMake builds of the
# test runners and samples (kernels/CMakeLists.txt) and the Zephyr module
# (module/CMakeLists.txt). Add a kernel here and every build picks it up.

set(TINYTX_KERNELS_DIR ${CMAKE_CURRENT_LIST_DIR})

set(TINYTX_KERNEL_INCLUDE_DIRS
  ${TINYTX_KERNELS_DIR}/include
)

set(TINYTX_KERNEL_REF_SOURCES
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_add_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_av_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_fwsa_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_gelu_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_layernorm_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_linear_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_mhsa_s8.c
  ${TINYTX_KERNELS_DIR}/src/ref/tinytx_qk_softmax_s8.c
)
