# Run by lepton_add_plugin() after each link (cmake -P): copies the plugin's manifest next to the
# library and stamps it with the ABI version and build fingerprint read from the library's build
# stamp (the text LEPTON_PLUGIN embeds), so that nothing needs to load the plugin to know them.
#   -DLIBRARY=<built plugin> -DMANIFEST=<source manifest> -DOUTPUT=<manifest beside the library>
cmake_minimum_required(VERSION 3.21)
file(STRINGS "${LIBRARY}" stamps REGEX "lepton-plugin-stamp/1\\|")
file(READ "${MANIFEST}" manifest)
if(stamps)
  # file(STRINGS) escapes the fingerprint's ';' (CMake's list separator) as '\;'.
  string(REGEX MATCH "lepton-plugin-stamp/1\\|[^|]*(\\|[^|]*)*\\|" stamp "${stamps}")
  string(REPLACE "\\;" ";" stamp "${stamp}")
  string(REGEX MATCH "\\|abi=([0-9]+)\\|" ignored "${stamp}")
  set(abi "${CMAKE_MATCH_1}")
  string(REGEX MATCH "\\|fingerprint=([^|]*)\\|" ignored "${stamp}")
  set(fingerprint "${CMAKE_MATCH_1}")
  if(abi)
    string(JSON manifest SET "${manifest}" abi "${abi}")
    string(JSON manifest SET "${manifest}" fingerprint "\"${fingerprint}\"")
  endif()
endif()
# Rewrite only on change, so that what depends on the manifest does not rebuild needlessly.
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL "${manifest}\n")
  file(WRITE "${OUTPUT}" "${manifest}\n")
endif()
