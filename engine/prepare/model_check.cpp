// The pre-trial model check: the plugin sees each value a trial could give a categorical
// parameter (a file per architecture, say), on the input shape the preprocessing gives.
#include "prepare/model_check.hpp"

#include "train/preprocess.hpp"
#include "experiment/parameters.hpp"
#include "experiment/preprocess_spec.hpp"

namespace lepton::engine {

namespace {

// One model to check: the single model, or a family of model.choices.
struct Family {
  std::string plugin;
  json fixed = json::object();  // its own fixed parameters
  json preprocess;              // preprocessing settings: fixed, searched ones at their first value
  std::vector<const ParamSpec*> categorical;  // its searched categorical parameters
  std::string path;             // JSON path of its section
  std::string space_path;       // where its searched parameters are written
};

bool model_owns(const std::string& name, TaskType task_type) {
  return !task_schema(task_type).find(name) && !preprocess_schema().find(name);
}

// A searched setting's first value: its first choice, or the low end of its range.
json first_value(const ParamSpec& spec) {
  if (spec.type == ParamType::kFixed) return spec.value;
  if (spec.type == ParamType::kCategorical) return spec.choices.front();
  return spec.type == ParamType::kInt ? json(static_cast<std::int64_t>(spec.low)) : json(spec.low);
}

// The model's fixed values and searched categoricals in `space`; searched preprocessing settings
// at their first value, for the input shape.
void collect(const SearchSpace& space, TaskType task_type, Family& f) {
  for (const auto& spec : space.params()) {
    if (preprocess_schema().find(spec.name)) {
      f.preprocess[spec.name] = first_value(spec);
    } else if (model_owns(spec.name, task_type) && spec.name != kModelParam) {
      if (spec.type == ParamType::kFixed) f.fixed[spec.name] = spec.value;
      if (spec.type == ParamType::kCategorical) f.categorical.push_back(&spec);
    }
  }
}

void check_family(const Model& model, const Family& f, const DataSplits& data, const Experiment& e) {
  ModelRequest base;
  base.path = f.path;
  base.search_dirs = e.data_dirs;
  base.shape.classes = static_cast<std::int64_t>(data.class_names.size());
  base.shape.input = data.input_shape;
  if (wants_preprocessing(f.preprocess, data.categorical))
    base.shape.input = fit_preprocessor(f.preprocess, data.train.x, data.categorical).output_shape();
  auto check = [&](const json& params, const ParamSpec* searched, std::size_t choice) {
    ModelRequest request = base;
    request.params = params;
    try {
      model.check(request);
    } catch (const ConfigError& error) {
      if (!searched) throw;
      const std::string at = f.space_path + "." + searched->name + ".choices[" + std::to_string(choice) + "]";
      if (error.path() == f.path + "." + searched->name) throw ConfigError(at, error.detail());
      throw ConfigError(error.path(), error.detail() + " (with " + at + " = " + searched->choices[choice].dump() + ")");
    }
  };
  if (f.categorical.empty()) return check(f.fixed, nullptr, 0);
  json firsts = f.fixed;
  for (const auto* spec : f.categorical) firsts[spec->name] = spec->choices.front();
  for (const auto* spec : f.categorical)
    for (std::size_t i = 0; i < spec->choices.size(); ++i) {
      json params = firsts;
      params[spec->name] = spec->choices[i];
      check(params, spec, i);
    }
}

}  // namespace

void check_model_before_trials(const Experiment& e, const Registry& registry, const DataSplits& data) {
  if (e.task.type == TaskType::kFinetune) return;  // the source's model, checked when it was loaded
  std::vector<Family> families;
  if (e.model_choices.empty()) {
    Family f{e.model.plugin, e.model.config, e.preprocess, {}, e.model.path, "search.space"};
    collect(e.search.space, e.task.type, f);
    families.push_back(std::move(f));
  } else {
    for (const auto& choice : e.model_choices) {
      Family f{choice.plugin, json::object(), e.preprocess, {}, choice.path, choice.path};
      for (const auto& item : choice.config.items()) {
        if (preprocess_schema().find(item.key())) {
          f.preprocess[item.key()] = item.value();
        } else if (model_owns(item.key(), e.task.type)) {
          f.fixed[item.key()] = item.value();
        }
      }
      for (const auto& spec : e.search.space.params())
        if (preprocess_schema().find(spec.name)) f.preprocess[spec.name] = first_value(spec);
      collect(choice.space, e.task.type, f);
      families.push_back(std::move(f));
    }
  }
  for (const auto& f : families) check_family(registry.model(f.plugin), f, data, e);
}

}  // namespace lepton::engine
