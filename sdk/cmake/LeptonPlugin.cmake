# lepton_add_plugin(): everything a plugin's CMakeLists needs, for first-party and third-party plugins.
#
#   lepton_add_plugin(<name> KIND <searcher|model|dataset> SOURCES <files...>
#                     [MANIFEST <file>] [LIBRARIES <targets...>] [OUTPUT_DIRECTORY <dir>])
#
# Builds <name>.so (a MODULE library, hidden visibility, only the LEPTON_PLUGIN entry exported) and
# copies its manifest (default: <name>.plugin.json beside the CMakeLists) next to it, so the folder
# is ready for LEPTON_PLUGIN_PATH. The output folder is OUTPUT_DIRECTORY, else
# LEPTON_PLUGIN_OUTPUT_DIRECTORY, else <build>/plugins.
include_guard(GLOBAL)

function(lepton_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "KIND;MANIFEST;OUTPUT_DIRECTORY" "SOURCES;LIBRARIES")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lepton_add_plugin(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_KIND MATCHES "^(searcher|model|dataset)$")
    message(FATAL_ERROR "lepton_add_plugin(${name}): KIND must be searcher, model or dataset, got '${ARG_KIND}'")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "lepton_add_plugin(${name}): SOURCES is required")
  endif()
  if(NOT ARG_MANIFEST)
    set(ARG_MANIFEST "${CMAKE_CURRENT_SOURCE_DIR}/${name}.plugin.json")
  endif()
  get_filename_component(ARG_MANIFEST "${ARG_MANIFEST}" ABSOLUTE)
  if(NOT EXISTS "${ARG_MANIFEST}")
    message(FATAL_ERROR "lepton_add_plugin(${name}): manifest ${ARG_MANIFEST} not found; "
                        "write one with at least name, kind, version and description")
  endif()
  file(READ "${ARG_MANIFEST}" manifest_text)
  string(JSON manifest_kind ERROR_VARIABLE manifest_error GET "${manifest_text}" kind)
  if(manifest_error)
    message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST}: ${manifest_error}")
  endif()
  if(NOT manifest_kind STREQUAL ARG_KIND)
    message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST} says kind '${manifest_kind}', "
                        "but KIND is '${ARG_KIND}'")
  endif()

  set(output_dir "${ARG_OUTPUT_DIRECTORY}")
  if(NOT output_dir)
    set(output_dir "${LEPTON_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(NOT output_dir)
    set(output_dir "${CMAKE_BINARY_DIR}/plugins")
  endif()

  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE Lepton::sdk ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY "${output_dir}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LEPTON_PLUGIN_KIND "${ARG_KIND}"
    LEPTON_PLUGIN_MANIFEST "${ARG_MANIFEST}")
  # Fail at link time, not at load time, when a symbol is missing.
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${ARG_MANIFEST}" "${output_dir}/${name}.plugin.json"
    VERBATIM)
  if(LEPTON_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${LEPTON_PLUGIN_INSTALL_DIR}")
    install(FILES "${ARG_MANIFEST}" DESTINATION "${LEPTON_PLUGIN_INSTALL_DIR}" RENAME "${name}.plugin.json")
  endif()
endfunction()
