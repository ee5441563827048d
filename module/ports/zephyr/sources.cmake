# The Zephyr runtime port (module/ports/zephyr), compiled into the tinytx Zephyr
# library by module/CMakeLists.txt. Defines:
#   TINYTX_PORT_ZEPHYR_SOURCES       absolute source paths
#   TINYTX_PORT_ZEPHYR_INCLUDE_DIRS  include directory (tinytx_port/zephyr.h)
set(TINYTX_PORT_ZEPHYR_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/src/tinytx_port_zephyr.c
  ${CMAKE_CURRENT_LIST_DIR}/src/tinytx_port_parallel.c
)
set(TINYTX_PORT_ZEPHYR_INCLUDE_DIRS ${CMAKE_CURRENT_LIST_DIR}/include)
