// The preprocessing settings (`preprocess` section, or searched in `search.space` like any parameter).
#pragma once

#include "experiment/parameters.hpp"

#include <lepton/config.hpp>

namespace lepton::engine {

/// scaler ("standardize", "minmax", "none"), pca (bool) and pca_components (int).
const ParamSchema& preprocess_schema();

/// Reads the `preprocess` object (fixed values, each checked against the schema) at `path`.
json parse_preprocess(const json& section, const std::string& path);

}  // namespace lepton::engine
