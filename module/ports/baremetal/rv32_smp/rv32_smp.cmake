# The RV32 SMP port (QEMU virt -smp N): included by kernels/CMakeLists.txt when
# TINYTX_PARALLEL_PORT=rv32_smp. A static library with the start code, hart 0's C
# runtime and tinytx_parallel_for; whatever links the kernels links with
# -nostartfiles (this port's _start replaces picolibc's crt0) and pulls _start in.
set(TINYTX_RV32_SMP_DIR ${CMAKE_CURRENT_LIST_DIR})
set(TINYTX_RV32_SMP_HARTS 8 CACHE STRING "harts the RV32 SMP port supports (QEMU virt -smp)")

add_library(tinytx_rv32_smp STATIC
  ${TINYTX_RV32_SMP_DIR}/src/rv32_smp_start.c
  ${TINYTX_RV32_SMP_DIR}/src/rv32_smp_crt.c
  ${TINYTX_RV32_SMP_DIR}/src/rv32_smp_parallel.c
)
target_include_directories(tinytx_rv32_smp PUBLIC ${TINYTX_RV32_SMP_DIR}/include ${TINYTX_KERNEL_INCLUDE_DIRS})
target_compile_definitions(tinytx_rv32_smp PUBLIC
  TINYTX_PARALLEL_PORT_RV32_SMP=1 TINYTX_RV32_SMP_MAX_HARTS=${TINYTX_RV32_SMP_HARTS})
set_target_properties(tinytx_rv32_smp PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(tinytx_rv32_smp PRIVATE -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion)
if(TINYTX_WERROR)
  target_compile_options(tinytx_rv32_smp PRIVATE -Werror)
endif()
target_link_options(tinytx_rv32_smp INTERFACE -nostartfiles -Wl,--undefined=_start)
