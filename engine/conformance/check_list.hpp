// Running named checks so that one failure (or exception) never stops the others.
#pragma once

#include "conformance/conformance.hpp"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lepton::engine::conformance {

/// Thrown by a check to fail with a reason.
class CheckFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Fails the running check with `reason` unless `condition` holds.
inline void expect(bool condition, const std::string& reason) {
  if (!condition) throw CheckFailure(reason);
}

/// The "rejects unknown ..." checks: `call` (given an option nobody declares, at `key`) must throw
/// ConfigError; its message is the note.
inline std::string expect_config_error(const std::function<void()>& call, const std::string& key) {
  try {
    call();
  } catch (const ConfigError& e) {
    return std::string("ConfigError: ") + e.what();
  }
  throw CheckFailure(key + " was accepted silently; read it with lepton::ConfigObject and call finish() so "
                           "typos are reported");
}

/// Collects check results in order.
class CheckList {
 public:
  /// Runs `check`, which returns a note on success and throws to fail (the exception's message is
  /// the reason; any exception type counts, so a plugin's own errors show as they are). Returns
  /// whether it passed.
  bool run(const std::string& name, const std::function<std::string()>& check) {
    CheckResult result{name, CheckStatus::kPass, ""};
    try {
      result.detail = check();
    } catch (const std::exception& e) {
      result.status = CheckStatus::kFail;
      result.detail = e.what();
    } catch (...) {
      result.status = CheckStatus::kFail;
      result.detail = "unknown exception";
    }
    results_.push_back(result);
    return result.status == CheckStatus::kPass;
  }
  /// Records checks that cannot run because `reason`.
  void skip(const std::vector<std::string>& names, const std::string& reason) {
    for (const auto& name : names) results_.push_back({name, CheckStatus::kSkip, reason});
  }
  std::vector<CheckResult> take() { return std::move(results_); }

 private:
  std::vector<CheckResult> results_;
};

/// The checks of each kind. `settings` is the merged "conformance" object.
std::vector<CheckResult> check_searcher(const SearcherFactory& factory, const json& settings);
std::vector<CheckResult> check_model(const Model& model, const PluginRecord& record, const json& settings,
                                     const std::vector<std::string>& data_dirs);
std::vector<CheckResult> check_dataset(const Dataset& dataset, const json& settings,
                                       const std::vector<std::string>& data_dirs);
std::vector<CheckResult> check_metric(const MetricFactory& factory, const PluginRecord& record, const json& settings);

/// Shapes as text: {4, 2}.
std::string shape_text(const std::vector<std::int64_t>& shape);

}  // namespace lepton::engine::conformance
