# Runtime-port code shared by every platform (bare metal, Zephyr): CRC-32 and the
# weight-image checks. Independent of the kernels. Defines:
#   TINYTX_PORT_COMMON_SOURCES       absolute source paths
#   TINYTX_PORT_COMMON_INCLUDE_DIRS  include directory (tinytx_port/*.h)
set(TINYTX_PORT_COMMON_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/src/tinytx_port_crc32.c
  ${CMAKE_CURRENT_LIST_DIR}/src/tinytx_port_weights_image.c
)
set(TINYTX_PORT_COMMON_INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}/include)
