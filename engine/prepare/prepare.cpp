// The preparation stage: an experiment and the plugin registry become a PreparedExperiment (plugins
// bound, every parameter checked against its owner, data loaded, source or teacher resolved) before
// anything is stored. Threads and trial processes then run trials of the same prepared study.
#include "prepare/prepare.hpp"

#include "prepare/choice_checks.hpp"
#include "prepare/metric_setup.hpp"
#include "prepare/model_check.hpp"
#include "prepare/names_text.hpp"
#include "prepare/task_sources.hpp"
#include "experiment/parameters.hpp"
#include "experiment/preprocess_spec.hpp"

namespace lepton::engine {

json study_spec(const Experiment& experiment) {
  return {{"experiment", experiment.document}, {"data_dirs", experiment.data_dirs}};
}

Experiment experiment_of(const StudyRecord& study) {
  return parse_experiment(study.spec.at("experiment"), study.spec.at("data_dirs").get<std::vector<std::string>>());
}

PreparedExperiment prepare_experiment(Experiment experiment, const Registry& registry) {
  PreparedExperiment out;
  const auto& e = experiment;
  if (!e.model_choices.empty()) check_model_choices(e, registry);  // every family; the first stands in below
  auto resources = open_task(e, registry);  // a fine-tuning source or a teacher: read before anything else
  const PluginRecord& dataset = registry.require(PluginKind::kDataset, e.dataset.plugin, e.dataset.path + ".plugin");
  const PluginRecord& model = registry.require(PluginKind::kModel, task_model_plugin(e, *resources), e.model.path + ".plugin");
  const PluginRecord& searcher = registry.require(PluginKind::kSearcher, e.search.searcher, "search.searcher");
  // Against the manifest first, so a typo is named the same way for every searcher that declares its options.
  if (searcher.manifest.is_object() && searcher.manifest.contains("parameters"))
    check_options(e.search.options, searcher.parameters, "searcher \"" + searcher.name + "\"", "search.options");

  // Every searched parameter has an owner that accepts its range; fixed model values are checked too.
  const ParamSchema& task = task_schema(e.task.type);
  const bool model_declares = model.manifest.is_object() && model.manifest.contains("parameters");
  for (const auto& spec : e.search.space.params()) {
    const std::string path = "search.space." + spec.name;
    if (is_choice_param(e.model_choices, spec.name)) continue;
    if (const ParamRule* rule = task.find(spec.name)) {
      check_searchable(*rule, spec, path);
    } else if (const ParamRule* rule = preprocess_schema().find(spec.name)) {
      check_searchable(*rule, spec, path);
    } else if (const ParamRule* rule = model.parameters.find(spec.name)) {
      check_searchable(*rule, spec, path);
    } else if (model_declares) {
      std::vector<std::string> all = task.names();
      for (const auto& n : model.parameters.names()) all.push_back(n);
      std::string message = "no component takes a parameter \"" + spec.name + "\"";
      if (auto near = closest_match(spec.name, all)) message += " (did you mean \"" + *near + "\"?)";
      message += std::string("; the ") + to_string(e.task.type) + " task takes " + names_text(task.names()) + "; model \"" + model.name +
                 "\" takes " + names_text(model.parameters.names());
      throw ConfigError(path, message);
    }
  }
  if (model_declares && e.model_choices.empty()) {  // check_model_choices checked each family's
    for (const auto& item : e.model.config.items()) {
      const ParamRule* rule = model.parameters.find(item.key());
      const std::string path = e.model.path + "." + item.key();
      if (!rule) {
        std::string message = "model \"" + model.name + "\" has no parameter \"" + item.key() + "\"";
        if (auto near = closest_match(item.key(), model.parameters.names())) message += " (did you mean \"" + *near + "\"?)";
        throw ConfigError(path, message + "; it takes " + names_text(model.parameters.names()));
      }
      check_value(*rule, item.value(), path);
    }
  }

  auto data = load_study_data(e, registry, *resources);
  if (data->class_names.size() < 2)
    throw ConfigError(e.dataset.path, "the data has " + std::to_string(data->class_names.size()) +
                                          " class(es); classification needs at least 2");
  if (data->train.size() == 0 || data->valid.size() == 0)
    throw ConfigError(e.dataset.path + ".split", "the train and valid splits must both hold samples");
  bind_task_data(*resources, e, *data);
  check_model_before_trials(e, registry, *data);
  out.scoring = bind_metrics(experiment, registry, *data);

  // Creating the searcher once checks its options before anything is stored.
  SearcherSetup setup{e.search.space, {}, e.search.seed, e.search.options, nullptr};
  for (const auto& o : e.task.objectives) setup.directions.push_back(o.direction);
  registry.searcher(e.search.searcher)(setup);

  out.dataset_plugin = dataset.name;
  out.model_plugin = model.name;
  out.searcher_plugin = e.search.searcher;
  out.data = std::move(data);
  out.task = std::move(resources);
  out.experiment = std::move(experiment);
  return out;
}

}  // namespace lepton::engine
