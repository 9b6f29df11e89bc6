// The plugins the build made, first-party and domain packs, loaded once per test process.
#pragma once

#include "plugins/registry.hpp"

namespace lepton::test {

/// The build's plugin folder and its packs. Loaded once: plugins stay loaded for the process's life.
const engine::Registry& build_plugins();

/// Loads `config` with dataset plugin `plugin`, relative paths from the source tree.
DataSplits load_dataset(const std::string& plugin, const json& config);

/// Reads `file` with `plugin` in prediction mode, replaying what `trained` fitted.
DataSplits predict_dataset(const std::string& plugin, const DataSplits& trained, const json& config, const std::string& file);

/// The ConfigError load_dataset() throws for `config`, or "(no error)".
std::string dataset_error(const std::string& plugin, const json& config);

}  // namespace lepton::test
