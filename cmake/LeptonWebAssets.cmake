# Front-end packages from npm (web/package.json, pinned by web/package-lock.json): finds Apache
# ECharts' minified build for the report page, running `npm ci` in web/ when scripts/setup has not.
# Sets LEPTON_ECHARTS_JS (the file) and LEPTON_ECHARTS_VERSION.
set(LEPTON_WEB_DIR "${PROJECT_SOURCE_DIR}/web")
set(LEPTON_ECHARTS_JS "${LEPTON_WEB_DIR}/node_modules/echarts/dist/echarts.min.js")
set(lepton_echarts_package "${LEPTON_WEB_DIR}/node_modules/echarts/package.json")

# npm writes node_modules/.package-lock.json on every install: older than the lock means stale.
if(NOT EXISTS "${LEPTON_ECHARTS_JS}" OR
   "${LEPTON_WEB_DIR}/package-lock.json" IS_NEWER_THAN "${LEPTON_WEB_DIR}/node_modules/.package-lock.json")
  find_program(LEPTON_NPM npm)
  if(NOT LEPTON_NPM)
    message(FATAL_ERROR "Apache ECharts is missing from web/node_modules and npm was not found. "
                        "Run scripts/setup (it installs Node.js and runs `npm ci` in web/).")
  endif()
  message(STATUS "Installing web/package-lock.json with npm ci (scripts/setup does this too)")
  execute_process(COMMAND "${LEPTON_NPM}" ci --no-audit --no-fund
                  WORKING_DIRECTORY "${LEPTON_WEB_DIR}" RESULT_VARIABLE npm_result)
  if(NOT npm_result EQUAL 0 OR NOT EXISTS "${LEPTON_ECHARTS_JS}")
    message(FATAL_ERROR "`npm ci` in ${LEPTON_WEB_DIR} failed (${npm_result}); run it by hand to see why.")
  endif()
endif()

file(READ "${lepton_echarts_package}" lepton_echarts_manifest)
string(JSON LEPTON_ECHARTS_VERSION GET "${lepton_echarts_manifest}" version)
