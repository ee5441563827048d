# The kernel source list shared by every build: the plain CMake builds of the
# test runners, samples and benchmarks (kernels/CMakeLists.txt) and the Zephyr
# module (module/CMakeLists.txt). Add a kernel here and every build picks it up.
#
# Variants: "ref" (kernels/src/ref, portable C99, defines the semantics),
# "arm" (kernels/src/arm, Cortex-M DSP extension) and "riscv" (kernels/src/riscv,
# work split over cores through tinytx/parallel.h, XpulpV2 SIMD where the compiler
# has it; docs/gap9.md). A variant uses its own file
# for a kernel when it has one and the reference file otherwise, so an optimized
# variant can land kernel by kernel.

set(TINYTX_KERNELS_DIR ${CMAKE_CURRENT_LIST_DIR})

set(TINYTX_KERNEL_INCLUDE_DIRS
  ${TINYTX_KERNELS_DIR}/include
)

set(TINYTX_KERNEL_NAMES
  tinytx_add_s8
  tinytx_av_s8
  tinytx_avgpool2d_s8
  tinytx_conv2d_s8
  tinytx_conv2d_sparse_s8
  tinytx_depthwise_conv2d_s8
  tinytx_fwsa_dft_s8
  tinytx_fwsa_s8
  tinytx_gelu_s8
  tinytx_layernorm_s8
  tinytx_linear_buf_s8
  tinytx_linear_s8
  tinytx_linear_sparse_s8
  tinytx_lut_s8
  tinytx_maxpool2d_s8
  tinytx_mean_rows_s8
  tinytx_mhsa_dft_s8
  tinytx_mhsa_s8
  tinytx_qk_softmax_s8
  tinytx_gather_s8
  tinytx_mul_s8
  tinytx_layernorm_steps_s8
  tinytx_attention_steps_s8
  # The scratch sizes (*_get_buffer_size), plain C apart from the kernels so that the
  # host ABI library (kernels/abi) compiles the very same files.
  tinytx_conv2d_s8_size
  tinytx_conv2d_sparse_s8_size
  tinytx_fwsa_dft_s8_size
  tinytx_fwsa_s8_size
  tinytx_linear_buf_s8_size
  tinytx_linear_sparse_s8_size
  tinytx_mhsa_dft_s8_size
  tinytx_mhsa_s8_size
  tinytx_qk_softmax_s8_size
)

set(TINYTX_KERNEL_VARIANTS ref arm riscv)

# The single-core implementation of tinytx/parallel.h, for builds whose platform has
# no parallel port of its own (only the riscv variant calls it).
set(TINYTX_PARALLEL_SERIAL_SOURCES ${TINYTX_KERNELS_DIR}/src/parallel/tinytx_parallel_serial.c)

# tinytx_kernel_sources(<variant> <out_var>): absolute source paths of a variant.
function(tinytx_kernel_sources variant out_var)
  if(NOT variant IN_LIST TINYTX_KERNEL_VARIANTS)
    message(FATAL_ERROR "tinytx: unknown kernel variant '${variant}' (known: ${TINYTX_KERNEL_VARIANTS})")
  endif()
  # The glob only makes the build re-run CMake when a variant file appears or
  # disappears (the EXISTS checks below are evaluated at configure time).
  file(GLOB _tinytx_variant_files CONFIGURE_DEPENDS ${TINYTX_KERNELS_DIR}/src/${variant}/*.c)
  set(sources)
  foreach(name IN LISTS TINYTX_KERNEL_NAMES)
    if(EXISTS ${TINYTX_KERNELS_DIR}/src/${variant}/${name}.c)
      list(APPEND sources ${TINYTX_KERNELS_DIR}/src/${variant}/${name}.c)
    else()
      list(APPEND sources ${TINYTX_KERNELS_DIR}/src/ref/${name}.c)
    endif()
  endforeach()
  set(${out_var} ${sources} PARENT_SCOPE)
endfunction()

tinytx_kernel_sources(ref TINYTX_KERNEL_REF_SOURCES)
tinytx_kernel_sources(arm TINYTX_KERNEL_ARM_SOURCES)
tinytx_kernel_sources(riscv TINYTX_KERNEL_RISCV_SOURCES)
