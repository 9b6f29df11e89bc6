// Routing a trial's parameters to their owners.
#include "run/trial_params.hpp"

#include "experiment/parameters.hpp"
#include "experiment/preprocess_spec.hpp"

namespace lepton::engine {

TrialParams route_trial_params(const Experiment& e, const json& params) {
  TrialParams out;
  out.model_plugin = e.model.plugin;
  out.model = e.model.config;
  out.settings = e.task.settings;
  out.preprocess = e.preprocess;
  const ParamSchema& task = task_schema(e.task.type);
  auto route = [&](const std::string& name, const json& value) {
    json& owner = task.find(name) ? out.settings : preprocess_schema().find(name) ? out.preprocess : out.model;
    owner[name] = value;
  };
  std::string prefix;
  if (!e.model_choices.empty()) {
    const ModelChoice* family = chosen_family(e.model_choices, params);
    if (!family) throw ConfigError(kModelParam, "the trial chose no model family of model.choices");
    out.model_plugin = family->plugin;
    out.model = json::object();
    // A family's fixed values go where searched ones of the same name would: {"optimizer": "lbfgs"}
    // is the trainer's.
    for (const auto& item : family->config.items()) route(item.key(), item.value());
    prefix = family->family + ".";
  }
  for (const auto& item : params.items()) {
    std::string name = item.key();
    if (!prefix.empty()) {
      if (name == kModelParam) continue;
      if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
    }
    route(name, item.value());
  }
  return out;
}

}  // namespace lepton::engine
