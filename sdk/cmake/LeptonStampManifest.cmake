# Run by lepton_add_plugin() after each link (cmake -P): copies the plugin's manifest next to the
# library and stamps it with the ABI version and build fingerprint read from the library's build
# stamp (the text LEPTON_PLUGIN embeds), so that nothing needs to load the plugin to know them.
#   -DLIBRARY=<built plugin> -DMANIFEST=<source manifest> -DOUTPUT=<manifest beside the library>
cmake_minimum_required(VERSION 3.21)
file(STRINGS "${LIBRARY}" stamps REGEX "lepton-plugin-stamp/1\\|")
file(READ "${MANIFEST}" manifest)
string(STRIP "${manifest}" manifest)  # written back with one final newline
if(stamps)
  # file(STRINGS) escapes the fingerprint's ';' (CMake's list separator) as '\;'.
  string(REGEX MATCH "lepton-plugin-stamp/1\\|[^|]*(\\|[^|]*)*\\|" stamp "${stamps}")
  string(REPLACE "\\;" ";" stamp "${stamp}")
  string(REGEX MATCH "\\|abi=([0-9]+)\\|" ignored "${stamp}")
  set(abi "${CMAKE_MATCH_1}")
  string(REGEX MATCH "\\|fingerprint=([^|]*)\\|" ignored "${stamp}")
  set(fingerprint "${CMAKE_MATCH_1}")
  if(abi)
    # Insert the two keys as text, keeping the author's layout and numbers: string(JSON SET) would
    # reformat the whole manifest and print 0.2 as 0.20000000000000001. Fall back to it only when the
    # manifest is empty or already has either key.
    string(JSON members LENGTH "${manifest}")
    string(JSON ignored ERROR_VARIABLE no_abi GET "${manifest}" abi)
    string(JSON ignored ERROR_VARIABLE no_fingerprint GET "${manifest}" fingerprint)
    if(members GREATER 0 AND no_abi AND no_fingerprint)
      string(FIND "${manifest}" "{" brace)
      math(EXPR after "${brace} + 1")
      string(SUBSTRING "${manifest}" 0 ${after} head)
      string(SUBSTRING "${manifest}" ${after} -1 tail)
      set(manifest "${head}\n  \"abi\": ${abi},\n  \"fingerprint\": \"${fingerprint}\",${tail}")
    else()
      string(JSON manifest SET "${manifest}" abi "${abi}")
      string(JSON manifest SET "${manifest}" fingerprint "\"${fingerprint}\"")
    endif()
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
