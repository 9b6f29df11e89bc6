// Names of the SDK's enumerations, shared by the store, the CLI and plugins.
#include <lepton/plugin.hpp>
#include <lepton/searcher.hpp>

#include <stdexcept>

namespace lepton {

const char* to_string(Direction direction) {
  return direction == Direction::kMinimize ? "minimize" : "maximize";
}

const char* to_string(TrialState state) {
  switch (state) {
    case TrialState::kWaiting: return "WAITING";
    case TrialState::kRunning: return "RUNNING";
    case TrialState::kComplete: return "COMPLETE";
    case TrialState::kPruned: return "PRUNED";
    case TrialState::kFail: return "FAIL";
  }
  return "UNKNOWN";
}

TrialState trial_state_from_string(const std::string& name) {
  for (auto s : {TrialState::kWaiting, TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail})
    if (name == to_string(s)) return s;
  throw std::invalid_argument("unknown trial state \"" + name + "\"");
}

const char* to_string(PluginKind kind) {
  switch (kind) {
    case PluginKind::kSearcher: return "searcher";
    case PluginKind::kModel: return "model";
    case PluginKind::kDataset: return "dataset";
    case PluginKind::kMetric: return "metric";
  }
  return "unknown";
}

const char* engine_build_fingerprint() { return LEPTON_BUILD_FINGERPRINT; }

}  // namespace lepton
