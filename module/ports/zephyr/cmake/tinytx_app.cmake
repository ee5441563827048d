# SPDX-License-Identifier: Apache-2.0
#
# Helpers for the Zephyr applications of this repository (samples/*/CMakeLists.txt,
# tests/kernels/zephyr/CMakeLists.txt). Include this file BEFORE find_package(Zephyr):
#
#   include(${CMAKE_CURRENT_LIST_DIR}/../../module/ports/zephyr/cmake/tinytx_app.cmake)
#   tinytx_board_files()                      # before find_package(Zephyr)
#   find_package(Zephyr REQUIRED HINTS $ENV{ZEPHYR_BASE})
#   project(<app>)
#   tinytx_generated_sources(gen_dir SAMPLE <name> [OPTIONS <tinytx build options>...])
#   tinytx_kernel_vectors(vectors_bin SEED <seed> CASES <cases-per-kernel>)
#   tinytx_model_sample()                     # a model sample's sources, all of them
#
# The two generators run the tinytx Python package at configure time with the Python
# of the Zephyr build (PYTHON_EXECUTABLE), with this checkout's scripts/ first on
# PYTHONPATH; tinytx's Python dependencies must be installed there (`pip install -e
# <tinytx>` in the workspace's environment, as for `west tinytx`).

include_guard(GLOBAL)

get_filename_component(TINYTX_ROOT ${CMAKE_CURRENT_LIST_DIR}/../../../.. ABSOLUTE)

# Zephyr 4.x has no overlay-only extension of an upstream board from a module's
# board root (hardware model v2 extends a board with new variants only, and the old
# boards/extensions mechanism is gone), so the files tinytx adds to the upstream
# Nucleo boards live in boards/zephyr/<board>.overlay and <board>.conf and the
# applications add them to EXTRA_DTC_OVERLAY_FILE and EXTRA_CONF_FILE, which Zephyr
# reads (merged with the command line's) when find_package(Zephyr) runs.
function(tinytx_board_files)
  if(DEFINED BOARD)
    set(board ${BOARD})
  elseif(DEFINED ENV{BOARD})
    set(board $ENV{BOARD})
  else()
    # find_package(Zephyr) reports the missing board itself.
    return()
  endif()
  # <board>[@<revision>][/<qualifiers>] -> <board>
  string(REGEX REPLACE "[@/].*$" "" board_name "${board}")
  set(dir ${TINYTX_ROOT}/boards/zephyr)
  if(EXISTS ${dir}/${board_name}.overlay)
    set(EXTRA_DTC_OVERLAY_FILE ${EXTRA_DTC_OVERLAY_FILE} ${dir}/${board_name}.overlay PARENT_SCOPE)
    message(STATUS "tinytx: devicetree overlay ${dir}/${board_name}.overlay")
  endif()
  if(EXISTS ${dir}/${board_name}.conf)
    set(EXTRA_CONF_FILE ${EXTRA_CONF_FILE} ${dir}/${board_name}.conf PARENT_SCOPE)
    message(STATUS "tinytx: Kconfig fragment ${dir}/${board_name}.conf")
  endif()
endfunction()

# tinytx_python(<tinytx command line>...): runs `python -m tinytx.cli <args>` now.
function(tinytx_python)
  if(NOT PYTHON_EXECUTABLE)
    message(FATAL_ERROR "tinytx: PYTHON_EXECUTABLE is not set (call this after find_package(Zephyr))")
  endif()
  if(CMAKE_HOST_WIN32)
    set(sep "\;")
  else()
    set(sep ":")
  endif()
  set(pythonpath "${TINYTX_ROOT}/scripts")
  if(DEFINED ENV{PYTHONPATH})
    set(pythonpath "${pythonpath}${sep}$ENV{PYTHONPATH}")
  endif()
  string(REPLACE ";" " " shown "${ARGN}")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${pythonpath}"
            ${PYTHON_EXECUTABLE} -m tinytx.cli ${ARGN}
    RESULT_VARIABLE rc
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
  )
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR
      "tinytx: `tinytx ${shown}` failed (exit ${rc}):\n${out}${err}\n"
      "The build runs the tinytx Python package with ${PYTHON_EXECUTABLE}; install it "
      "and its dependencies there: ${PYTHON_EXECUTABLE} -m pip install -e ${TINYTX_ROOT}")
  endif()
  string(STRIP "${out}" out)
  message(STATUS "tinytx: ${out}")
endfunction()

# tinytx_generated_sources(<dir_var> SAMPLE <name> [OPTIONS <args>...]): the directory
# of the sample's generated C sources (model data, weights, arena sizes). Taken from
# TINYTX_GENERATED_DIR when `west tinytx build` converted the model already, written
# now with `tinytx build samples/<name> --generate-only <dir> <args>` otherwise (twister
# and plain `west build` take this path).
function(tinytx_generated_sources dir_var)
  cmake_parse_arguments(arg "" "SAMPLE" "OPTIONS" ${ARGN})
  if(NOT arg_SAMPLE)
    message(FATAL_ERROR "tinytx_generated_sources: give SAMPLE <name>")
  endif()
  if(TINYTX_GENERATED_DIR)
    set(dir ${TINYTX_GENERATED_DIR})
  else()
    set(dir ${CMAKE_BINARY_DIR}/tinytx_generated)
    tinytx_python(build ${TINYTX_ROOT}/samples/${arg_SAMPLE} --generate-only ${dir} ${arg_OPTIONS})
  endif()
  file(GLOB generated ${dir}/*.c)
  if(NOT generated)
    message(FATAL_ERROR "tinytx: no generated C sources in ${dir} (sample ${arg_SAMPLE})")
  endif()
  set(${dir_var} ${dir} PARENT_SCOPE)
endfunction()

# tinytx_kernel_vectors(<bin_var> SEED <seed> CASES <n>): writes the golden model's
# kernel test vectors (`tinytx vectors`, the TTXV format tests/kernels/src/tt_case.c
# reads) to <build>/tinytx_generated/tt_vectors.bin.
function(tinytx_kernel_vectors bin_var)
  cmake_parse_arguments(arg "" "SEED;CASES" "" ${ARGN})
  if(NOT arg_SEED OR NOT arg_CASES)
    message(FATAL_ERROR "tinytx_kernel_vectors: give SEED <seed> and CASES <n>")
  endif()
  set(bin ${CMAKE_BINARY_DIR}/tinytx_generated/tt_vectors.bin)
  tinytx_python(vectors -o ${bin} --seed ${arg_SEED} --cases ${arg_CASES})
  set(${bin_var} ${bin} PARENT_SCOPE)
endfunction()

# tinytx_model_sample(): everything a model sample (samples/<name> with
# model/model.onnx: radar, eeg, ecg) compiles into `app`: its src/*.c, the shared body
# of the model samples (samples/common: main(), the test loop, the port layer) and its
# model converted for this board and kernel variant (model.c, test_data.c).
function(tinytx_model_sample)
  get_filename_component(name ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set(options -b ${BOARD} --kernels ${CONFIG_TINYTX_KERNEL_VARIANT})
  if(CONFIG_TINYTX_NUM_CORES)  # the cores the kernels run on: their scratch is planned for them
    list(APPEND options --cores ${CONFIG_TINYTX_NUM_CORES})
  endif()
  tinytx_generated_sources(generated_dir SAMPLE ${name} OPTIONS ${options})
  file(GLOB own_sources ${CMAKE_CURRENT_SOURCE_DIR}/src/*.c)
  file(GLOB common_sources ${TINYTX_ROOT}/samples/common/src/*.c)
  file(GLOB generated_sources ${generated_dir}/*.c)
  target_sources(app PRIVATE ${own_sources} ${common_sources} ${generated_sources})
  target_include_directories(app PRIVATE ${generated_dir} ${TINYTX_ROOT}/samples/common/include)
endfunction()
