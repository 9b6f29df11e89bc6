// Views of the blobs assets.S embeds (each followed by a NUL that the views leave out).
#include "report/assets.hpp"

#ifndef LEPTON_ECHARTS_VERSION
#error "the build defines LEPTON_ECHARTS_VERSION from web/node_modules/echarts/package.json"
#endif

#define LEPTON_DECLARE_ASSET(name) \
  extern "C" const char lepton_asset_##name##_start[]; \
  extern "C" const char lepton_asset_##name##_end[];
LEPTON_DECLARE_ASSET(report_html)
LEPTON_DECLARE_ASSET(report_css)
LEPTON_DECLARE_ASSET(report_js)
LEPTON_DECLARE_ASSET(echarts_js)

namespace lepton::engine::assets {

namespace {
std::string_view view(const char* start, const char* end) {
  return {start, static_cast<std::size_t>(end - start)};
}
}  // namespace

std::string_view report_html() { return view(lepton_asset_report_html_start, lepton_asset_report_html_end); }
std::string_view report_css() { return view(lepton_asset_report_css_start, lepton_asset_report_css_end); }
std::string_view report_js() { return view(lepton_asset_report_js_start, lepton_asset_report_js_end); }
std::string_view echarts_js() { return view(lepton_asset_echarts_js_start, lepton_asset_echarts_js_end); }
std::string_view echarts_version() { return LEPTON_ECHARTS_VERSION; }

}  // namespace lepton::engine::assets
