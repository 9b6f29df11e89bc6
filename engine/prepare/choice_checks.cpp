// Checking each model family of an experiment against its plugin before anything runs.
#include "prepare/choice_checks.hpp"

#include "prepare/names_text.hpp"
#include "experiment/parameters.hpp"
#include "experiment/preprocess_spec.hpp"

namespace lepton::engine {

namespace {

// The rule that owns `name` for a family: the task's, the preprocessing's or the plugin's.
const ParamRule* owner_rule(const Experiment& e, const PluginRecord& model, const std::string& name) {
  if (const ParamRule* rule = task_schema(e.task.type).find(name)) return rule;
  if (const ParamRule* rule = preprocess_schema().find(name)) return rule;
  return model.parameters.find(name);
}

[[noreturn]] void unknown_parameter(const Experiment& e, const ModelChoice& family, const PluginRecord& model,
                                    const std::string& name, const std::string& path) {
  std::vector<std::string> all = task_schema(e.task.type).names();
  for (const auto& n : preprocess_schema().names()) all.push_back(n);
  for (const auto& n : model.parameters.names()) all.push_back(n);
  std::string message = "family \"" + family.family + "\" (model \"" + model.name + "\") takes no parameter \"" + name + "\"";
  if (auto near = closest_match(name, all)) message += " (did you mean \"" + *near + "\"?)";
  throw ConfigError(path, message + "; the model takes " + names_text(model.parameters.names()) +
                              ", the task and preprocessing take " + names_text(all));
}

}  // namespace

void check_model_choices(const Experiment& e, const Registry& registry) {
  for (const ModelChoice& family : e.model_choices) {
    const std::string plugin_path = family.path + (family.plugin == family.family ? "" : ".plugin");
    const PluginRecord& model = registry.require(PluginKind::kModel, family.plugin, plugin_path);
    const bool declares = model.manifest.is_object() && model.manifest.contains("parameters");
    for (const auto& item : family.config.items()) {
      const std::string path = family.path + "." + item.key();
      if (const ParamRule* rule = owner_rule(e, model, item.key())) {
        check_value(*rule, item.value(), path);
      } else if (declares) {
        unknown_parameter(e, family, model, item.key(), path);
      }
    }
    for (const auto& spec : family.space.params()) {
      const std::string path = family.path + "." + spec.name;
      if (const ParamRule* rule = owner_rule(e, model, spec.name)) {
        check_searchable(*rule, spec, path);
      } else if (declares) {
        unknown_parameter(e, family, model, spec.name, path);
      }
    }
    // A shared model parameter reaches every family, so each must take it.
    for (const auto& spec : e.search.space.params()) {
      if (is_choice_param(e.model_choices, spec.name)) continue;
      const std::string path = "search.space." + spec.name;
      if (const ParamRule* rule = owner_rule(e, model, spec.name)) {
        check_searchable(*rule, spec, path);
      } else if (declares) {
        throw ConfigError(path, "family \"" + family.family + "\" (model \"" + model.name + "\") takes no parameter \"" +
                                    spec.name + "\"; search it inside the families that take it (" + family.path + "...)");
      }
    }
  }
}

}  // namespace lepton::engine
