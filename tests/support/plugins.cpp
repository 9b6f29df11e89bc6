// One registry for the tests that call plugins directly.
#include "support/plugins.hpp"

#include <memory>

namespace lepton::test {

const engine::Registry& build_plugins() {
  static const auto registry = [] {
    auto r = std::make_unique<engine::Registry>();
    r->load_folder(LEPTON_PLUGIN_DIR, "build");
    r->load_folder(LEPTON_PACK_DIR);
    return r;
  }();
  return *registry;
}

DataSplits load_dataset(const std::string& plugin, const json& config) {
  DatasetRequest request;
  request.config = config;
  request.search_dirs = {LEPTON_SOURCE_DIR};
  return build_plugins().dataset(plugin).load(request);
}

DataSplits predict_dataset(const std::string& plugin, const DataSplits& trained, const json& config, const std::string& file) {
  DatasetRequest request;
  request.config = config;
  request.predict = true;
  request.file = file;
  request.fitted = trained.fitted;
  return build_plugins().dataset(plugin).load(request);
}

std::string dataset_error(const std::string& plugin, const json& config) {
  try {
    load_dataset(plugin, config);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace lepton::test
