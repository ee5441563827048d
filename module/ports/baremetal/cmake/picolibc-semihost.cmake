# CMake toolchain file for bare-metal targets on QEMU: GCC + picolibc with
# semihosting (stdio, files, argv and the exit code go through the debugger
# interface QEMU emulates, so no startup code or drivers of our own are needed).
#
# Required cache variables (tinytx.core.targets passes them from boards/targets.yaml):
#   TINYTX_TOOLCHAIN_PREFIX  e.g. arm-none-eabi or riscv64-unknown-elf
#   TINYTX_CPU_FLAGS         CPU/ABI flags, ;-separated
#   TINYTX_MEMORY_DEFSYMS    picolibc linker-script symbols (__flash, __ram, ...), ;-separated
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR ${TINYTX_TOOLCHAIN_PREFIX})
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_COMPILER ${TINYTX_TOOLCHAIN_PREFIX}-gcc)
set(CMAKE_ASM_COMPILER ${TINYTX_TOOLCHAIN_PREFIX}-gcc)
set(CMAKE_AR ${TINYTX_TOOLCHAIN_PREFIX}-ar)
set(CMAKE_RANLIB ${TINYTX_TOOLCHAIN_PREFIX}-ranlib)

list(JOIN TINYTX_CPU_FLAGS " " _tinytx_cpu)
set(CMAKE_C_FLAGS_INIT "${_tinytx_cpu} --specs=picolibc.specs")
set(_tinytx_link "--oslib=semihost --crt0=semihost -Wl,--gc-sections")
foreach(sym IN LISTS TINYTX_MEMORY_DEFSYMS)
  string(APPEND _tinytx_link " -Wl,--defsym=${sym}")
endforeach()
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_tinytx_link}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
