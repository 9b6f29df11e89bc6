// Reading and writing the `pruner` section.
#include "experiment/pruner_spec.hpp"

namespace lepton::engine {

PrunerSpec PrunerSpec::parse(const json& value, const std::string& path) {
  ConfigObject cfg(value, path);
  PrunerSpec out;
  out.type = cfg.one_of("type", {"none", "median", "asha"}, std::nullopt);
  if (out.type == "median") {
    out.warmup_epochs = static_cast<int>(cfg.integer_in("warmup_epochs", 0, 100000, 0));
    out.min_trials = static_cast<int>(cfg.integer_in("min_trials", 1, 100000, 5));
  } else if (out.type == "asha") {
    out.min_epochs = static_cast<int>(cfg.integer_in("min_epochs", 1, 100000, 1));
    out.reduction_factor = static_cast<int>(cfg.integer_in("reduction_factor", 2, 100, 3));
  }
  cfg.finish();
  return out;
}

json PrunerSpec::to_json() const {
  if (type == "median") return {{"type", type}, {"warmup_epochs", warmup_epochs}, {"min_trials", min_trials}};
  if (type == "asha") return {{"type", type}, {"min_epochs", min_epochs}, {"reduction_factor", reduction_factor}};
  return {{"type", type}};
}

}  // namespace lepton::engine
