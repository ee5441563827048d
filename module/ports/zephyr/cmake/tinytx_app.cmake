# SPDX-License-Identifier: Apache-2.0
#
# CMake helpers of the tinytx Zephyr module for applications (the samples, the kernel
# tests and your own). module/CMakeLists.txt includes this file, so the functions exist
# once find_package(Zephyr) has run, in any application of a workspace whose west.yml
# imports tinytx:
#
#   find_package(Zephyr REQUIRED HINTS $ENV{ZEPHYR_BASE})
#   project(my_app)
#   target_sources(app PRIVATE src/main.c)
#   tinytx_add_model(app MODEL ${CMAKE_CURRENT_SOURCE_DIR}/model/model.onnx)
#
# - tinytx_add_model(<target> MODEL <onnx> [OPTIONS <tinytx convert options>...]): the
#   model converted for this build's board and kernel variant (model.c/.h and, when the
#   model has test inputs, test_data.c/.h; <name>.c/.h and <name>_test_data.c/.h with
#   OPTIONS --name <name>) added to <target>;
# - tinytx_model_sample(): a model sample of samples/ (its src/, samples/common, its
#   model);
# - tinytx_generated_sources(<dir_var> SAMPLE <name> [OPTIONS ...]): what a sample
#   generates (`tinytx build samples/<name> --generate-only`), e.g. mhsa_bench's data;
# - tinytx_kernel_vectors(<bin_var> SEED <seed> CASES <n>): the kernel test vectors.
#
# The board and kernel variant are the resolved ones: BOARD without revision or
# qualifiers (nucleo_h743zi/stm32h743xx -> nucleo_h743zi) and
# CONFIG_TINYTX_KERNEL_VARIANT after Kconfig. The generators run the tinytx Python
# package at configure time with the Python of the Zephyr build (PYTHON_EXECUTABLE),
# with this checkout's scripts/ first on PYTHONPATH; tinytx's Python dependencies must
# be installed there (`pip install -e <tinytx>`, as for `west tinytx`). What they read
# (the model, its calibration and test inputs, the tinytx Python sources,
# boards/boards.yaml) is a configure dependency: editing any of it re-runs CMake and
# the conversion on the next build.

include_guard(GLOBAL)

# _tinytx_root(<var>): the tinytx checkout (four levels above this file).
function(_tinytx_root var)
  get_filename_component(root ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../../../.. ABSOLUTE)
  set(${var} ${root} PARENT_SCOPE)
endfunction()

# tinytx_board_name(<var>): this build's board without revision or qualifiers.
function(tinytx_board_name var)
  if(NOT BOARD)
    message(FATAL_ERROR "tinytx: BOARD is not set (call this after find_package(Zephyr))")
  endif()
  string(REGEX REPLACE "[@/].*$" "" name "${BOARD}")
  set(${var} ${name} PARENT_SCOPE)
endfunction()

# tinytx_known_board(<var> <board>): <board> if boards/boards.yaml describes it (its
# memory is what a conversion plans for), else empty.
function(tinytx_known_board var board)
  _tinytx_root(root)
  file(STRINGS ${root}/boards/boards.yaml entries REGEX "^  [a-z0-9_]+:[ ]*$")
  set(found "")
  foreach(entry IN LISTS entries)
    string(STRIP "${entry}" entry)
    if(entry STREQUAL "${board}:")
      set(found ${board})
    endif()
  endforeach()
  set(${var} "${found}" PARENT_SCOPE)
endfunction()

# tinytx_configure_depends(<file or directory>...): re-run CMake when one changes.
function(tinytx_configure_depends)
  foreach(path IN LISTS ARGN)
    if(EXISTS ${path})
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
    endif()
  endforeach()
endfunction()

# The inputs of every tinytx generator: the Python package and the board data.
function(_tinytx_tool_depends)
  _tinytx_root(root)
  file(GLOB_RECURSE python_sources ${root}/scripts/tinytx/*.py)
  tinytx_configure_depends(${python_sources} ${root}/boards/boards.yaml)
endfunction()

# tinytx_python(<tinytx command line>...): runs `python -m tinytx.cli <args>` now.
function(tinytx_python)
  if(NOT PYTHON_EXECUTABLE)
    message(FATAL_ERROR "tinytx: PYTHON_EXECUTABLE is not set (call this after find_package(Zephyr))")
  endif()
  _tinytx_root(root)
  _tinytx_tool_depends()
  if(CMAKE_HOST_WIN32)
    set(sep "\;")
  else()
    set(sep ":")
  endif()
  set(pythonpath "${root}/scripts")
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
      "and its dependencies there: ${PYTHON_EXECUTABLE} -m pip install -e ${root}")
  endif()
  string(STRIP "${out}" out)
  message(STATUS "tinytx: ${out}")
endfunction()

# tinytx_check_provenance(<dir> MODEL <onnx> BOARD <board or empty> KERNELS <variant>):
# stops the configure when <dir> (a `tinytx convert` output, tinytx-model.json) was
# converted from another model, for another board or kernel variant, or before the
# model last changed.
function(tinytx_check_provenance dir)
  cmake_parse_arguments(arg "" "MODEL;BOARD;KERNELS" "" ${ARGN})
  set(record ${dir}/tinytx-model.json)
  if(NOT EXISTS ${record})
    message(FATAL_ERROR
      "tinytx: ${dir} has no tinytx-model.json: not a `tinytx convert` output "
      "(TINYTX_GENERATED_DIR)")
  endif()
  tinytx_configure_depends(${record})
  file(READ ${record} json)
  string(JSON converted_board ERROR_VARIABLE e1 GET "${json}" options board)
  string(JSON converted_kernels ERROR_VARIABLE e2 GET "${json}" options kernels)
  string(JSON converted_onnx ERROR_VARIABLE e3 GET "${json}" onnx)
  if(e1 OR e2 OR e3)
    message(FATAL_ERROR "tinytx: ${record}: not a tinytx-model.json (${e1}${e2}${e3})")
  endif()
  set(want_board "${arg_BOARD}")
  if(want_board STREQUAL "")
    set(want_board "none")
  endif()
  if(converted_board STREQUAL "")
    set(converted_board "none")
  endif()
  if(converted_kernels STREQUAL "")
    set(converted_kernels "unspecified")
  endif()
  if(NOT converted_board STREQUAL want_board OR NOT converted_kernels STREQUAL arg_KERNELS)
    message(FATAL_ERROR
      "tinytx: ${dir} was converted for board ${converted_board} with the "
      "${converted_kernels} kernels, but this build is for board ${want_board} with the "
      "${arg_KERNELS} kernels (BOARD ${BOARD}, CONFIG_TINYTX_KERNEL_VARIANT): its arena "
      "and scratch sizes do not apply. Convert it again (tinytx convert <model> -o ${dir} "
      "--kernels ${arg_KERNELS}, with --board ${arg_BOARD} when boards/boards.yaml has "
      "the board) or leave TINYTX_GENERATED_DIR unset to convert at configure time.")
  endif()
  get_filename_component(model ${arg_MODEL} REALPATH)
  get_filename_component(converted_model "${converted_onnx}" REALPATH)
  if(NOT model STREQUAL converted_model)
    message(FATAL_ERROR
      "tinytx: ${dir} was converted from ${converted_onnx}, not from ${arg_MODEL}")
  endif()
  file(TIMESTAMP ${model} model_time "%s" UTC)
  file(TIMESTAMP ${record} record_time "%s" UTC)
  if(model_time GREATER record_time)
    message(FATAL_ERROR
      "tinytx: ${arg_MODEL} changed after ${dir} was converted from it: convert it again")
  endif()
  tinytx_configure_depends(${model})
endfunction()

# tinytx_convert_model(<dir_var> MODEL <onnx> [OPTIONS <tinytx convert options>...]):
# the directory of the model's generated C sources for this build's board and kernel
# variant. TINYTX_GENERATED_DIR, when set (`tinytx build` converts before `west
# build`), is that directory, checked against the build (tinytx_check_provenance);
# otherwise `tinytx convert <onnx> -o <build>/tinytx_generated` runs now (twister and
# plain `west build` take this path) and again whenever its inputs change.
function(tinytx_convert_model dir_var)
  cmake_parse_arguments(arg "" "MODEL" "OPTIONS" ${ARGN})
  if(NOT arg_MODEL)
    message(FATAL_ERROR "tinytx_convert_model: give MODEL <onnx file>")
  endif()
  if(NOT EXISTS ${arg_MODEL})
    message(FATAL_ERROR "tinytx: model ${arg_MODEL} does not exist")
  endif()
  if(NOT CONFIG_TINYTX_KERNEL_VARIANT)
    message(FATAL_ERROR "tinytx: CONFIG_TINYTX is off: enable it (CONFIG_TINYTX=y or -S tinytx)")
  endif()
  tinytx_board_name(board)
  tinytx_known_board(known ${board})
  if(TINYTX_GENERATED_DIR)
    set(dir ${TINYTX_GENERATED_DIR})
    tinytx_check_provenance(${dir} MODEL ${arg_MODEL} BOARD "${known}"
                            KERNELS ${CONFIG_TINYTX_KERNEL_VARIANT})
  else()
    set(dir ${CMAKE_BINARY_DIR}/tinytx_generated)
    get_filename_component(model_dir ${arg_MODEL} DIRECTORY)
    # The model and what a conversion picks up next to it (docs/user-guide.md); the
    # directory itself, so that one added later is seen.
    tinytx_configure_depends(${arg_MODEL} ${model_dir}/calibration.npz
                             ${model_dir}/test_inputs.npz ${model_dir})
    set(board_option "")
    if(known)
      set(board_option --board ${known})
    endif()
    if(CONFIG_TINYTX_NUM_CORES)  # the cores the kernels run on: their scratch is planned for them
      list(APPEND board_option --cores ${CONFIG_TINYTX_NUM_CORES})
    endif()
    tinytx_python(convert ${arg_MODEL} -o ${dir} ${board_option}
                  --kernels ${CONFIG_TINYTX_KERNEL_VARIANT} ${arg_OPTIONS})
  endif()
  file(GLOB generated ${dir}/*.c)
  if(NOT generated)
    message(FATAL_ERROR "tinytx: no generated C sources in ${dir} (model ${arg_MODEL})")
  endif()
  set(${dir_var} ${dir} PARENT_SCOPE)
endfunction()

# tinytx_add_model(<target> MODEL <onnx> [OPTIONS ...]): the converted model's C
# sources and headers (model.h; test_data.h when the model has test inputs; with
# OPTIONS --name <name>: <name>.h, <name>_test_data.h, which the compile definition
# TINYTX_TEST_DATA_HEADER names for samples/common's main) added to <target>.
function(tinytx_add_model target)
  tinytx_convert_model(dir ${ARGN})
  file(GLOB generated_sources ${dir}/*.c)
  target_sources(${target} PRIVATE ${generated_sources})
  target_include_directories(${target} PRIVATE ${dir})
  file(GLOB named_test_data RELATIVE ${dir} ${dir}/*_test_data.h)
  if(named_test_data)
    list(GET named_test_data 0 header)
    target_compile_definitions(${target} PRIVATE TINYTX_TEST_DATA_HEADER="${header}")
  endif()
endfunction()

# tinytx_generated_sources(<dir_var> SAMPLE <name> [OPTIONS <args>...]): the directory
# of what samples/<name> generates, written now with `tinytx build samples/<name>
# --generate-only <build>/tinytx_generated <args>` (mhsa_bench: the block's data and,
# with --weights-image, weights.hex).
function(tinytx_generated_sources dir_var)
  cmake_parse_arguments(arg "" "SAMPLE" "OPTIONS" ${ARGN})
  if(NOT arg_SAMPLE)
    message(FATAL_ERROR "tinytx_generated_sources: give SAMPLE <name>")
  endif()
  _tinytx_root(root)
  set(dir ${CMAKE_BINARY_DIR}/tinytx_generated)
  tinytx_python(build ${root}/samples/${arg_SAMPLE} --generate-only ${dir} ${arg_OPTIONS})
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
  _tinytx_root(root)
  tinytx_add_model(app MODEL ${CMAKE_CURRENT_SOURCE_DIR}/model/model.onnx)
  file(GLOB own_sources ${CMAKE_CURRENT_SOURCE_DIR}/src/*.c)
  file(GLOB common_sources ${root}/samples/common/src/*.c)
  target_sources(app PRIVATE ${own_sources} ${common_sources})
  target_include_directories(app PRIVATE ${root}/samples/common/include)
endfunction()
