# The installed package, end to end (cmake -P): install the build to a temporary prefix, build the
# SDK examples against it out of tree, run the conformance kit and a study with them, and check
# that plugins built with another SDK are refused with both versions named.
#   -DBUILD_DIR=<Lepton build> -DSOURCE_DIR=<Lepton source> -DWORK_DIR=<scratch> -DGENERATOR=<cmake generator>
cmake_minimum_required(VERSION 3.21)

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(lepton "${prefix}/bin/lepton")

# Runs a command; fails the test unless it exits with `expected`. Leaves stdout in `out`.
function(run expected)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE code OUTPUT_VARIABLE stdout
                  ERROR_VARIABLE stderr)
  if(NOT code STREQUAL expected)
    message(FATAL_ERROR "${ARGN}\nexited with ${code}, expected ${expected}\n${stdout}\n${stderr}")
  endif()
  set(out "${stdout}${stderr}" PARENT_SCOPE)
endfunction()

function(expect_contains text needle)
  string(FIND "${text}" "${needle}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "expected to find \"${needle}\" in:\n${text}")
  endif()
endfunction()

message(STATUS "installing ${BUILD_DIR} to ${prefix}")
run(0 "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(file include/lepton/lepton.hpp include/lepton/engine/run/study.hpp lib/cmake/Lepton/LeptonConfig.cmake
             lib/cmake/Lepton/LeptonConfigVersion.cmake lib/cmake/Lepton/LeptonPlugin.map lib/lepton/plugins/mlp.so lib/lepton/plugins/mlp.plugin.json
             lib/lepton/packs/medical/pack.json lib/lepton/packs/medical/data/breast_cancer.csv share/lepton/data/iris.csv)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "the installation lacks ${file}")
  endif()
endforeach()

message(STATUS "building the examples against the installed package")
set(launcher)
find_program(ccache ccache)
if(ccache)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${ccache})
endif()
run(0 "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/package" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}" "-DLEPTON_EXAMPLES_DIR=${SOURCE_DIR}/sdk/examples" ${launcher})
run(0 "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" --parallel 2)

message(STATUS "the examples export lepton_plugin_info alone, through the installed linker version script")
find_program(nm nm REQUIRED)
run(0 "${CMAKE_COMMAND}" "-DNM=${nm}" "-DPLUGIN_DIR=${WORK_DIR}/build/plugins" -P "${SOURCE_DIR}/tests/abi/plugin_exports.cmake")

message(STATUS "the conformance kit on the examples and on the installed plugins")
run(0 "${lepton}" plugins check "${WORK_DIR}/build/plugins")
expect_contains("${out}" "3 of 3 plugins passed")
run(0 "${lepton}" plugins check "${prefix}/lib/lepton/plugins" "${prefix}/lib/lepton/packs")
expect_contains("${out}" "plugins passed")

message(STATUS "a study with the three example plugins")
set(ENV{LEPTON_PLUGIN_PATH} "${WORK_DIR}/build/plugins")
run(0 "${lepton}" plugins list --json)
string(JSON count LENGTH "${out}" plugins)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${out}" plugins ${i} name)
  string(JSON origin GET "${out}" plugins ${i} origin)
  string(JSON loaded GET "${out}" plugins ${i} loaded)
  if(name STREQUAL "hill_climb" AND NOT origin STREQUAL "LEPTON_PLUGIN_PATH")
    message(FATAL_ERROR "hill_climb's origin is ${origin}")
  endif()
  if(name STREQUAL "mlp" AND NOT origin STREQUAL "installed")
    message(FATAL_ERROR "mlp's origin is ${origin}")
  endif()
  if(NOT loaded)
    message(FATAL_ERROR "plugin ${name} was refused:\n${out}")
  endif()
endforeach()
run(0 "${lepton}" run "${SOURCE_DIR}/sdk/examples/experiment.json" --storage "sqlite:///${WORK_DIR}/study.db" -q)
run(0 "${lepton}" best --storage "sqlite:///${WORK_DIR}/study.db" --study spirals-example --json)
string(JSON accuracy GET "${out}" values val_accuracy)
if(accuracy LESS 0.5)
  message(FATAL_ERROR "the example study reached only ${accuracy} validation accuracy on three spirals")
endif()

message(STATUS "an installed pack runs its experiment with its own data")
set(ENV{LEPTON_PLUGIN_PATH} "${prefix}/lib/lepton/packs")
run(0 "${lepton}" run "${prefix}/lib/lepton/packs/medical/experiments/breast-cancer-screening.json"
    --storage "sqlite:///${WORK_DIR}/medical.db" --trials 1 -q)

message(STATUS "plugins built with another SDK are refused, naming both versions")
run(0 "${lepton}" --version)
set(foreign "${WORK_DIR}/build/foreign")
run(2 "${lepton}" plugins inspect "${foreign}/foreign_abi.so")
expect_contains("${out}" "plugin foreign_abi.so: built for ABI 999, engine has ABI ")
run(2 "${lepton}" plugins inspect "${foreign}/foreign_fingerprint.so")
expect_contains("${out}" "plugin foreign_fingerprint.so: built with \"")
expect_contains("${out}" "torch 1.8.0\", engine built with \"")
set(ENV{LEPTON_PLUGIN_PATH} "${foreign}")
run(0 "${lepton}" plugins list)
expect_contains("${out}" "built for ABI 999")
run(1 "${lepton}" plugins check "${foreign}/foreign_abi.so")
message(STATUS "the installed package works end to end")
