# `cmake --install`: the SDK headers, liblepton_sdk and liblepton_engine, the `lepton` CLI, the
# first-party plugins and packs (installed where they are built), the data sets, and the CMake
# package (LeptonConfig.cmake, LeptonConfigVersion.cmake, LeptonTargets.cmake, LeptonPlugin.cmake and its
# linker version script LeptonPlugin.map).
include(CMakePackageConfigHelpers)

set(LEPTON_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/Lepton")
set(LEPTON_DATA_INSTALL_DIR "${CMAKE_INSTALL_DATADIR}/lepton/data")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/sdk/include/lepton" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
# Engine headers for embedding applications, without the CLI's.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/engine/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/lepton/engine"
        FILES_MATCHING PATTERN "*.hpp" PATTERN "cli" EXCLUDE)
install(TARGETS lepton_sdk lepton_engine lepton EXPORT LeptonTargets
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(EXPORT LeptonTargets NAMESPACE Lepton:: DESTINATION "${LEPTON_CMAKE_INSTALL_DIR}")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/data/" DESTINATION "${LEPTON_DATA_INSTALL_DIR}")

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/LeptonConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/LeptonConfig.cmake"
  INSTALL_DESTINATION "${LEPTON_CMAKE_INSTALL_DIR}"
  PATH_VARS LEPTON_PLUGIN_INSTALL_DIR LEPTON_PACK_INSTALL_DIR LEPTON_DATA_INSTALL_DIR)
# Before 1.0, a minor release may change the plugin ABI: only the same major.minor matches.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cmake/LeptonConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cmake/LeptonConfig.cmake" "${PROJECT_BINARY_DIR}/cmake/LeptonConfigVersion.cmake"
              "${CMAKE_CURRENT_LIST_DIR}/LeptonPlugin.cmake" "${CMAKE_CURRENT_LIST_DIR}/LeptonPlugin.map"
              "${CMAKE_CURRENT_LIST_DIR}/LeptonStampManifest.cmake"
        DESTINATION "${LEPTON_CMAKE_INSTALL_DIR}")
