# lepton_add_plugin() and lepton_add_pack(): everything a plugin's or a pack's CMakeLists needs, for
# first-party and third-party plugins alike.
#
#   lepton_add_plugin(<name> SOURCES <files...> [MANIFEST <file>] [LIBRARIES <targets...>]
#                     [OUTPUT_DIRECTORY <dir>] [PACK <pack>] [KIND <searcher|model|dataset|metric>])
#
# The manifest (default: <name>.plugin.json beside the CMakeLists) states the plugin's identity once:
# its "name", "kind" and "version" become the compile definitions LEPTON_MANIFEST_NAME, _KIND and
# _VERSION, which `LEPTON_PLUGIN() { ... }` writes into the entry and the build stamp (a
# LEPTON_PLUGIN(kind, name, version) that disagrees with them does not compile). <name> names the
# target and the file, <name>.so. KIND is optional; when given it must match the manifest's.
#
# Builds <name>.so (a MODULE library, hidden visibility, and the linker version script
# LeptonPlugin.map, so that the LEPTON_PLUGIN entry is its only exported symbol) and writes its
# manifest next to it, stamped with the ABI version and build fingerprint read from the built
# library, so that `lepton plugins inspect` and the loader can judge it without running it. The
# folder is then ready for LEPTON_PLUGIN_PATH. The output folder is OUTPUT_DIRECTORY, else the
# folder of PACK (see lepton_add_pack), else LEPTON_PLUGIN_OUTPUT_DIRECTORY, else <build>/plugins.
# When LEPTON_PLUGIN_INSTALL_DIR is set, `cmake --install` puts the plugin and its manifest there.
#
#   lepton_add_pack(<name> [MANIFEST <pack.json>] [EXPERIMENTS <files...>] [DATA <files...>]
#                   [FILES <files...>] [OUTPUT_DIRECTORY <dir>])
#
# Lays out a domain pack: <dir>/<name>/ with pack.json, experiments/, data/ and FILES (a README),
# ready for LEPTON_PLUGIN_PATH; plugins join it with lepton_add_plugin(... PACK <name>). The parent
# folder is OUTPUT_DIRECTORY, else LEPTON_PACK_OUTPUT_DIRECTORY, else <build>/packs. When
# LEPTON_PACK_INSTALL_DIR is set, the pack is installed to <that>/<name>.
#
#   lepton_add_plugin_check(<plugin> [CONFIG <json>])
#
# Adds a CTest test that runs `lepton plugins check` (the conformance kit) on the plugin.
include_guard(GLOBAL)

set(_LEPTON_CMAKE_DIR "${CMAKE_CURRENT_LIST_DIR}")

# Resolves a manifest argument (default: `default_name` beside the calling CMakeLists), checks it
# exists, and returns its absolute path in `out` and its text in `out_text`.
function(_lepton_read_manifest caller given default_name out out_text)
  if(NOT given)
    set(given "${CMAKE_CURRENT_SOURCE_DIR}/${default_name}")
  endif()
  get_filename_component(given "${given}" ABSOLUTE)
  if(NOT EXISTS "${given}")
    message(FATAL_ERROR "${caller}: manifest ${given} not found; write one with at least name, version and description")
  endif()
  file(READ "${given}" text)
  # Configure again when the manifest changes, so edits reach the build folder.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${given}")
  set(${out} "${given}" PARENT_SCOPE)
  set(${out_text} "${text}" PARENT_SCOPE)
endfunction()

function(lepton_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "KIND;MANIFEST;OUTPUT_DIRECTORY;PACK" "SOURCES;LIBRARIES")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lepton_add_plugin(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "lepton_add_plugin(${name}): SOURCES is required")
  endif()
  _lepton_read_manifest("lepton_add_plugin(${name})" "${ARG_MANIFEST}" "${name}.plugin.json" ARG_MANIFEST manifest_text)
  # The manifest states the plugin's identity; LEPTON_PLUGIN() reads it from these definitions.
  foreach(key IN ITEMS name kind version)
    string(JSON manifest_${key} ERROR_VARIABLE manifest_error GET "${manifest_text}" ${key})
    if(manifest_error)
      message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST} needs a \"${key}\": ${manifest_error}")
    endif()
  endforeach()
  if(NOT manifest_kind MATCHES "^(searcher|model|dataset|metric)$")
    message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST}: kind must be searcher, model, dataset or metric, "
                        "got '${manifest_kind}'")
  endif()
  # Both end up in a C string literal and in the build stamp, whose fields end at '|'.
  if(NOT manifest_name MATCHES "^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
    message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST}: name '${manifest_name}' may hold only "
                        "letters, digits and _ . + -")
  endif()
  if(NOT manifest_version MATCHES "^[A-Za-z0-9_.+-]+$")
    message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST}: version '${manifest_version}' may hold only "
                        "letters, digits and _ . + -")
  endif()
  if(ARG_KIND AND NOT ARG_KIND STREQUAL manifest_kind)
    message(FATAL_ERROR "lepton_add_plugin(${name}): ${ARG_MANIFEST} says kind '${manifest_kind}', "
                        "but KIND is '${ARG_KIND}'; drop KIND, the manifest says it")
  endif()
  set(output_dir "${ARG_OUTPUT_DIRECTORY}")
  set(install_dir "${LEPTON_PLUGIN_INSTALL_DIR}")
  if(NOT output_dir AND ARG_PACK)
    get_property(output_dir GLOBAL PROPERTY LEPTON_PACK_${ARG_PACK}_DIR)
    get_property(install_dir GLOBAL PROPERTY LEPTON_PACK_${ARG_PACK}_INSTALL_DIR)
    if(NOT output_dir)
      message(FATAL_ERROR "lepton_add_plugin(${name}): no pack '${ARG_PACK}'; call lepton_add_pack(${ARG_PACK} ...) first")
    endif()
  endif()
  if(NOT output_dir)
    set(output_dir "${LEPTON_PLUGIN_OUTPUT_DIRECTORY}")
  endif()
  if(NOT output_dir)
    set(output_dir "${CMAKE_BINARY_DIR}/plugins")
  endif()

  add_library(${name} MODULE ${ARG_SOURCES})
  set_property(GLOBAL APPEND PROPERTY LEPTON_PLUGIN_TARGETS ${name})
  target_link_libraries(${name} PRIVATE Lepton::sdk ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY "${output_dir}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LEPTON_PLUGIN_KIND "${manifest_kind}"
    LEPTON_PLUGIN_MANIFEST "${ARG_MANIFEST}")
  target_compile_definitions(${name} PRIVATE LEPTON_MANIFEST_KIND=${manifest_kind}
    LEPTON_MANIFEST_NAME="${manifest_name}" LEPTON_MANIFEST_VERSION="${manifest_version}")
  # Fail at link time, not at load time, when a symbol is missing.
  target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  # Export the entry alone: hidden visibility does not cover the std:: and torch:: templates a
  # plugin instantiates (their namespaces are declared with default visibility).
  target_link_options(${name} PRIVATE "LINKER:--version-script=${_LEPTON_CMAKE_DIR}/LeptonPlugin.map")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${_LEPTON_CMAKE_DIR}/LeptonPlugin.map")
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND "${CMAKE_COMMAND}" -DLIBRARY=$<TARGET_FILE:${name}> -DMANIFEST=${ARG_MANIFEST}
            -DOUTPUT=${output_dir}/${name}.plugin.json -P "${_LEPTON_CMAKE_DIR}/LeptonStampManifest.cmake"
    VERBATIM)
  if(install_dir)
    install(TARGETS ${name} LIBRARY DESTINATION "${install_dir}")
    install(FILES "${output_dir}/${name}.plugin.json" DESTINATION "${install_dir}")
  endif()
endfunction()

function(lepton_add_pack name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "MANIFEST;OUTPUT_DIRECTORY" "EXPERIMENTS;DATA;FILES")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "lepton_add_pack(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  _lepton_read_manifest("lepton_add_pack(${name})" "${ARG_MANIFEST}" "pack.json" ARG_MANIFEST manifest_text)
  string(JSON manifest_name ERROR_VARIABLE manifest_error GET "${manifest_text}" name)
  if(manifest_error OR NOT manifest_name STREQUAL name)
    message(FATAL_ERROR "lepton_add_pack(${name}): ${ARG_MANIFEST} must have \"name\": \"${name}\" ${manifest_error}")
  endif()
  set(parent "${ARG_OUTPUT_DIRECTORY}")
  if(NOT parent)
    set(parent "${LEPTON_PACK_OUTPUT_DIRECTORY}")
  endif()
  if(NOT parent)
    set(parent "${CMAKE_BINARY_DIR}/packs")
  endif()
  set(dir "${parent}/${name}")
  configure_file("${ARG_MANIFEST}" "${dir}/pack.json" COPYONLY)
  foreach(group IN ITEMS EXPERIMENTS DATA FILES)
    if(group STREQUAL "EXPERIMENTS")
      set(subdir "experiments/")
    elseif(group STREQUAL "DATA")
      set(subdir "data/")
    else()
      set(subdir "")
    endif()
    foreach(file IN LISTS ARG_${group})
      get_filename_component(file "${file}" ABSOLUTE)
      get_filename_component(file_name "${file}" NAME)
      configure_file("${file}" "${dir}/${subdir}${file_name}" COPYONLY)
    endforeach()
  endforeach()
  set_property(GLOBAL PROPERTY LEPTON_PACK_${name}_DIR "${dir}")
  if(LEPTON_PACK_INSTALL_DIR)
    set_property(GLOBAL PROPERTY LEPTON_PACK_${name}_INSTALL_DIR "${LEPTON_PACK_INSTALL_DIR}/${name}")
    install(DIRECTORY "${dir}/" DESTINATION "${LEPTON_PACK_INSTALL_DIR}/${name}" FILES_MATCHING
            PATTERN "*.json" PATTERN "*.md" PATTERN "*.csv" PATTERN "*.arff" PATTERN "*.gz")
  endif()
endfunction()

function(lepton_add_plugin_check plugin)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "CONFIG" "")
  if(TARGET Lepton::lepton)
    set(lepton_exe Lepton::lepton)
  else()
    set(lepton_exe lepton)
  endif()
  set(extra)
  if(ARG_CONFIG)
    set(extra --config "${ARG_CONFIG}")
  endif()
  add_test(NAME "lepton plugins check ${plugin}"
           COMMAND ${lepton_exe} plugins check $<TARGET_FILE:${plugin}> ${extra}
           WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}")
endfunction()
