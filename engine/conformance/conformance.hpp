// The conformance kit behind `lepton plugins check`: drives a plugin through its contract.
#pragma once

#include "plugins/registry.hpp"

#include <lepton/config.hpp>

#include <string>
#include <vector>

namespace lepton::engine {

/// The outcome of one check. SKIP: it could not run because a check it needs failed.
enum class CheckStatus { kPass, kFail, kSkip };

/// "PASS", "FAIL" or "SKIP".
const char* to_string(CheckStatus status);

/// One check of a plugin's contract, e.g. "proposals inside the space".
struct CheckResult {
  std::string name;
  CheckStatus status = CheckStatus::kPass;
  std::string detail;  ///< what was verified (pass) or what went wrong and where (fail)
};

/// What to drive the plugin with. The manifest's "conformance" object gives the defaults (for
/// example a dataset's configuration); `overrides` is merged over it (JSON merge patch).
struct ConformanceOptions {
  json overrides = json::object();
  /// Where a dataset's relative data files are looked up (the working directory first).
  std::vector<std::string> data_dirs;
};

/// Every check run on one plugin, in order.
struct ConformanceReport {
  PluginRecord plugin;           ///< as the loader saw it
  json settings;                 ///< the "conformance" settings used
  std::vector<CheckResult> checks;
  bool passed() const;
};

/// Loads `file` into a fresh registry (never into the caller's) and runs the checks of its kind.
/// A plugin that does not load fails the first check ("loads") with the loader's reason.
ConformanceReport check_plugin(const std::string& file, const ConformanceOptions& options);

}  // namespace lepton::engine
