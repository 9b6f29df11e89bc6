// What the transfer benchmarks share: running an experiment as a study in a scratch store, and
// re-running one configuration over several seeds.
#pragma once

#include "plugins/registry.hpp"
#include "run/study.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lepton::bench {

/// A scratch folder with an SQLite store, removed at exit.
class ScratchStore {
 public:
  ScratchStore();
  ~ScratchStore();
  const std::string& url() const { return url_; }
  const std::string& folder() const { return folder_; }

 private:
  std::string folder_, url_;
};

/// An experiment file of experiments/, parsed as JSON so a benchmark can vary it.
json experiment_file(const std::string& name);

/// Runs `experiment` (its study named by its "name") in `store`; returns its trials and the time.
struct StudyOutcome {
  std::vector<engine::TrialRecord> trials;
  engine::PreparedExperiment prepared;
  double seconds = 0;
  /// The best COMPLETE trial by the first objective.
  const engine::TrialRecord& best() const;
  /// Epochs run by all trials together (pruned trials count the epochs they reached).
  std::int64_t epochs() const;
};
StudyOutcome run_experiment(const engine::Registry& registry, const json& experiment, const ScratchStore& store);

/// Trains one configuration of a prepared experiment with each seed; returns the trials' results.
std::vector<engine::TrialResult> repeat(const engine::PreparedExperiment& prepared, const engine::Registry& registry,
                                        const json& params, const std::vector<std::uint64_t>& seeds);

/// Mean, standard deviation (n - 1), minimum and maximum of values, or of a metric over results.
struct Spread {
  double mean = 0, std = 0, min = 0, max = 0;
};
Spread spread(const std::vector<double>& values);
Spread spread(const std::vector<engine::TrialResult>& results, const std::string& metric);

/// "0.9712 ± 0.0041 (0.9667-0.9750)".
std::string spread_text(const Spread& s);

/// A short form of a trial's parameters for tables.
std::string params_text(const json& params);

}  // namespace lepton::bench
