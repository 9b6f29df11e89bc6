// Files compiled into liblepton_engine (assets.S.in): the report page's template, style and
// script, and Apache ECharts' minified build, vendored from web/node_modules at build time.
#pragma once

#include <string_view>

namespace lepton::engine::assets {

std::string_view report_html();
std::string_view report_css();
std::string_view report_js();
std::string_view echarts_js();
/// The ECharts version the build embedded (from its package.json).
std::string_view echarts_version();

}  // namespace lepton::engine::assets
