# Runs a Zephyr application's CMakeLists.txt (and the tinytx module's CMakeLists.txt,
# as find_package(Zephyr) does) in CMake script mode, for tinytx's CI where Zephyr
# cannot be installed: CMake parses every file (a syntax error fails the run) and
# executes it, with the Zephyr and project commands replaced by stand-ins that print
# each call as one line "TINYTX_STUB|<command>|<arg>|<arg>..." on stderr.
#
#   cmake -DSTUB_APP=<CMakeLists.txt> -DSTUB_CONFIG=<file of set(CONFIG_... ...)>
#         -DSTUB_MODULE=<module/CMakeLists.txt> -DBOARD=<board>
#         -DSTUB_BINARY_DIR=<dir> -DPYTHON_EXECUTABLE=<python> -P cmake_stubs.cmake
#
# STUB_APP may be omitted (only the module file runs). The stand-ins mirror what the
# real commands give the next lines of Zephyr v4.2.0 application code: after
# find_package(Zephyr), the CONFIG_* values, BOARD without qualifiers (boards.cmake
# moves them to BOARD_IDENTIFIER) and ZEPHYR_BINARY_DIR.

cmake_minimum_required(VERSION 3.20)

function(tinytx_stub_record command)
  string(REPLACE ";" "|" args "${ARGN}")
  message("TINYTX_STUB|${command}|${args}")
endfunction()

foreach(command
    project target_sources target_include_directories target_compile_definitions
    target_compile_options target_link_libraries
    zephyr_library zephyr_library_named zephyr_library_sources zephyr_library_sources_ifdef
    zephyr_include_directories zephyr_compile_definitions zephyr_library_compile_options
    zephyr_library_compile_definitions zephyr_linker_sources
    generate_inc_file_for_target)
  cmake_language(EVAL CODE "
    function(${command})
      tinytx_stub_record(${command} \${ARGN})
    endfunction()")
endforeach()

# file(GLOB ... CONFIGURE_DEPENDS ...) is for project mode only (it makes the build
# re-run CMake); script mode globs the same files without it. A function (a macro
# would re-read escapes in its arguments) that hands its result variable back.
function(file)
  set(args ${ARGV})
  list(REMOVE_ITEM args CONFIGURE_DEPENDS)
  _file(${args})
  if(ARGV0 MATCHES "^(GLOB|GLOB_RECURSE)$")
    set(${ARGV1} "${${ARGV1}}" PARENT_SCOPE)
  elseif(ARGV0 MATCHES "^(STRINGS|READ|TIMESTAMP)$")
    set(${ARGV2} "${${ARGV2}}" PARENT_SCOPE)
  endif()
endfunction()

set(CMAKE_BINARY_DIR ${STUB_BINARY_DIR})

macro(find_package package)
  if(NOT "${package}" STREQUAL "Zephyr")
    message(FATAL_ERROR "cmake_stubs: find_package(${package}) is not stubbed")
  endif()
  tinytx_stub_record(find_package ${ARGV})
  # What the application handed Zephyr before find_package (board files belong to the
  # tinytx snippet, not to the application: these stay empty).
  tinytx_stub_record(EXTRA_DTC_OVERLAY_FILE ${EXTRA_DTC_OVERLAY_FILE})
  tinytx_stub_record(EXTRA_CONF_FILE ${EXTRA_CONF_FILE})
  include(${STUB_CONFIG})
  string(REGEX REPLACE "[@/].*$" "" BOARD "${BOARD}")
  set(ZEPHYR_BINARY_DIR ${CMAKE_BINARY_DIR}/zephyr)
  if(STUB_MODULE)
    include(${STUB_MODULE})
  endif()
endmacro()

if(STUB_APP)
  # As in project mode: the application's directory is the current source directory.
  get_filename_component(CMAKE_CURRENT_SOURCE_DIR ${STUB_APP} DIRECTORY)
  include(${STUB_APP})
else()
  find_package(Zephyr)
endif()

# The files whose change re-runs CMake (set_property(DIRECTORY APPEND PROPERTY
# CMAKE_CONFIGURE_DEPENDS ...)).
get_property(configure_depends DIRECTORY PROPERTY CMAKE_CONFIGURE_DEPENDS)
tinytx_stub_record(CMAKE_CONFIGURE_DEPENDS ${configure_depends})
