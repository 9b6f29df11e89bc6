# The engine's layer graph, checked by compiling: each layer (engine/<folder>) may include headers
# of the folders before it in LAYERS, never of one after it. For every pair, preprocesses a one-line
# `#include "<folder>/<header>"` with the layer's own view of the engine (engine/CMakeLists.txt):
# a later folder's header must not be found, and a layer must find its own.
#
#   cmake -DCXX=<compiler> -DENGINE=<engine source dir> -DPATHS=<build>/engine/layer_paths.cmake
#         -DWORK=<scratch folder> -P CheckLayers.cmake
set(LAYERS metrics data store experiment plugins conformance train prepare run artifacts serve report cli)

include("${PATHS}")
set(work "${WORK}")
file(MAKE_DIRECTORY "${work}")
set(failures "")
foreach(layer IN LISTS LAYERS)
  if(NOT DEFINED layer_${layer})
    list(APPEND failures "engine/${layer} is not a layer of the build (engine/CMakeLists.txt)")
    continue()
  endif()
  set(flags "")
  foreach(dir IN LISTS layer_${layer})
    if(dir MATCHES "/layers/")  # the engine views only: the compile stops at the first header, SDK or not
      list(APPEND flags "-I${dir}")
    endif()
  endforeach()
  set(after FALSE)
  foreach(other IN LISTS LAYERS)
    file(GLOB headers RELATIVE "${ENGINE}" "${ENGINE}/${other}/*.hpp")
    list(GET headers 0 header)
    file(WRITE "${work}/${layer}_uses_${other}.cpp" "#include \"${header}\"\n")
    execute_process(COMMAND "${CXX}" -std=c++17 -E -o /dev/null ${flags} "${work}/${layer}_uses_${other}.cpp"
                    ERROR_VARIABLE errors OUTPUT_QUIET RESULT_VARIABLE status)
    string(FIND "${errors}" "${header}: No such file" missing)
    if(after AND missing EQUAL -1)
      list(APPEND failures "engine/${layer} can include ${header}, but ${other} comes after ${layer}")
    elseif(other STREQUAL layer AND NOT missing EQUAL -1)
      list(APPEND failures "engine/${layer} cannot include its own ${header}")
    endif()
    if(other STREQUAL layer)
      set(after TRUE)
    endif()
  endforeach()
endforeach()
if(failures)
  list(JOIN failures "\n  " text)
  message(FATAL_ERROR "the engine's layer graph is broken:\n  ${text}")
endif()
list(LENGTH LAYERS count)
message(STATUS "${count} layers, no back edge")
