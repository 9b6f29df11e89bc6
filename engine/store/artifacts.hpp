// Where trials' files (saved models) live: beside the store, recorded in its artifacts table.
#pragma once

#include <string>

namespace lepton::engine {

/// The folder a store's trials save their files under, absolute: beside an SQLite file, its name
/// with `.artifacts` for the extension (lepton.db -> lepton.artifacts/); for other stores
/// `lepton-artifacts/` in the working directory. LEPTON_ARTIFACTS overrides both. Empty for an
/// in-memory store (nothing is saved).
std::string artifact_root(const std::string& storage_url);

/// The folder a study's trials save their models in (<root>/<study>/trial-<number>/), or empty
/// when the store keeps no artifacts.
std::string study_artifact_dir(const std::string& storage_url, const std::string& study);

}  // namespace lepton::engine
