// The search-strategy interface: propose the next parameters from the space and the study's history.
#pragma once

#include <lepton/export.hpp>
#include <lepton/search_space.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lepton {

/// Whether an objective is minimized or maximized.
enum class Direction { kMinimize, kMaximize };

/// "minimize" or "maximize".
LEPTON_API const char* to_string(Direction direction);

/// The life cycle of a trial.
enum class TrialState { kWaiting, kRunning, kComplete, kPruned, kFail };

/// "WAITING", "RUNNING", "COMPLETE", "PRUNED" or "FAIL".
LEPTON_API const char* to_string(TrialState state);
/// Parses the names to_string() gives; throws std::invalid_argument otherwise.
LEPTON_API TrialState trial_state_from_string(const std::string& name);
/// COMPLETE, PRUNED or FAIL.
inline bool is_finished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

/// What a searcher sees of one trial of the study.
struct LEPTON_API TrialView {
  int number = 0;                      ///< unique within the study, from 0
  TrialState state = TrialState::kRunning;
  Params params;                       ///< the parameters the trial ran with
  std::vector<double> values;          ///< one per objective; set when COMPLETE
  std::map<int, double> intermediate;  ///< per-epoch objective values reported so far
};

/// Given once, when the study's searcher is created.
struct LEPTON_API SearcherSetup {
  SearchSpace space;                   ///< the validated space to propose from
  std::vector<Direction> directions;   ///< one per objective
  std::uint64_t seed = 0;              ///< the study's seed
  json options = json::object();       ///< the experiment's `search.options`, for this searcher
  json state;                          ///< what state() returned last time, or null for a new study
};

/// Given at every proposal.
struct LEPTON_API SearchContext {
  int trial_number = 0;                   ///< the number the proposed trial will get
  std::uint64_t seed = 0;                 ///< derive_seed(study seed, trial_number)
  const std::vector<TrialView>* trials;   ///< every trial of the study so far, by number: finished
                                          ///< and running (running ones have no values yet)
  const std::vector<TrialView>& history() const { return *trials; }
};

/// A search strategy bound to one study. The engine calls suggest() from one thread at a time.
///
/// Proposals must be a pure function of (setup, context): the same history and seed give the same
/// parameters. That is what makes studies reproducible and resumable.
class LEPTON_API Searcher {
 public:
  virtual ~Searcher() = default;
  /// Returns a valid point of the space (see SearchSpace::check) for trial `context.trial_number`.
  virtual Params suggest(const SearchContext& context) = 0;
  /// Optional state the engine persists after every proposal and hands back in SearcherSetup on
  /// resume. Most searchers rebuild everything from the history and return null.
  virtual json state() const { return nullptr; }
};

/// Creates the searcher of a study. Throw ConfigError for bad `setup.options`.
using SearcherFactory = std::function<std::unique_ptr<Searcher>(const SearcherSetup& setup)>;

}  // namespace lepton
