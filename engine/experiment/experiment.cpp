// Experiment-file parsing and validation. Nothing here touches plugins or the store: an experiment
// that fails here has written nothing anywhere.
#include "experiment/experiment.hpp"

#include "experiment/parameters.hpp"
#include "experiment/preprocess_spec.hpp"
#include "store/storage_url.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace lepton::engine {

namespace {

void validate_study_name(const std::string& name, const std::string& path) {
  const bool ok = !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                  });
  if (!ok)
    throw ConfigError(path, "a study name is 1 to 128 letters, digits, '_', '-' or '.', got \"" + name + "\"");
}

PluginSection parse_plugin_section(const ConfigObject& root, const std::string& key) {
  ConfigObject section = root.object(key);
  PluginSection out;
  out.path = section.path();
  out.plugin = section.required<std::string>("plugin");
  if (out.plugin.empty()) throw ConfigError(section.path_of("plugin"), "expected a plugin name");
  out.config = section.value();
  out.config.erase("plugin");
  return out;  // the plugin checks the other keys itself
}

// `plugin_metrics`: the experiment names metric plugins, so other "val_" names may be theirs
// (prepare_experiment() checks them against the plugins' manifests).
Objective parse_objective(const json& value, const std::string& path, bool plugin_metrics) {
  ConfigObject cfg(value, path);
  Objective out;
  std::vector<std::string> allowed;
  for (const auto& m : known_metrics())
    if (m.rfind("test_", 0) != 0) allowed.push_back(m);
  allowed.insert(allowed.end(), {"parameter_count", "latency_ms"});
  const std::string metric = cfg.required<std::string>("metric");
  if (metric.rfind("test_", 0) == 0) {
    throw ConfigError(cfg.path_of("metric"), "optimizing \"" + metric +
                                                 "\" would tune on the test split; optimize \"val_" +
                                                 metric.substr(5) + "\" and read the test metrics afterwards");
  }
  const bool plugin_metric = plugin_metrics && metric.rfind("val_", 0) == 0 && metric.size() > 4 &&
                             std::find(allowed.begin(), allowed.end(), metric) == allowed.end();
  out.metric = plugin_metric ? metric : cfg.one_of("metric", allowed, std::nullopt);
  out.direction_given = cfg.has("direction");
  const std::string direction =
      cfg.one_of("direction", {"maximize", "minimize"}, std::string(to_string(default_direction(out.metric))));
  out.direction = direction == "minimize" ? Direction::kMinimize : Direction::kMaximize;
  cfg.finish();
  return out;
}

ModelSource parse_model_source(const ConfigObject& task, const std::string& key) {
  ModelSource out;
  out.path = task.path_of(key);
  const json& value = task.raw(key);
  if (value.is_string()) {
    out.file = value.get<std::string>();
    if (out.file.empty()) throw ConfigError(out.path, "expected a saved model's folder, got an empty string");
    return out;
  }
  if (!value.is_object())
    throw ConfigError(out.path, "expected a saved model's folder (a string) or {\"study\": NAME, \"trial\": \"best\"}, got " +
                                    describe_json(value));
  ConfigObject cfg(value, out.path);
  if (cfg.has("path")) {
    out.file = cfg.required<std::string>("path");
  } else {
    out.study = cfg.required<std::string>("study");
    validate_study_name(out.study, cfg.path_of("study"));
    if (cfg.has("trial")) {
      const json& trial = cfg.raw("trial");
      if (trial.is_number_integer() && trial.get<std::int64_t>() >= 0) {
        out.trial = std::to_string(trial.get<std::int64_t>());
      } else if (trial != "best") {
        throw ConfigError(cfg.path_of("trial"), "expected \"best\" or a trial number, got " + describe_json(trial));
      }
    }
    out.storage = cfg.optional<std::string>("storage", "");
    if (!out.storage.empty()) parse_storage_url(out.storage, cfg.path_of("storage"));
  }
  cfg.finish();
  return out;
}

// "balanced", "none", or explicit weights: {"class name": weight, ...} or [weight per class].
void check_class_weight(const json& value, const std::string& path) {
  if (value.is_string() || !(value.is_object() || value.is_array()))
    return check_value(*task_schema(TaskType::kTrain).find("class_weight"), value, path);
  if (value.empty()) throw ConfigError(path, "expected at least one class weight");
  const bool by_name = value.is_object();
  std::size_t i = 0;
  for (const auto& item : value.items()) {
    const std::string item_path = by_name ? join_path(path, item.key()) : path + "[" + std::to_string(i++) + "]";
    const double w = convert<double>(item.value(), item_path);
    if (!(w > 0)) throw ConfigError(item_path, "class weights must be positive, got " + item.value().dump());
  }
}

TaskSection parse_task(const ConfigObject& root, bool plugin_metrics) {
  ConfigObject cfg = root.object("task");
  TaskSection out;
  // The one place the task type is read from text: one_of refuses any other name, listing these.
  out.type = *parse_task_type(cfg.one_of("type", task_type_names(), std::string(to_string(TaskType::kTrain))));
  const char* source_key = out.type == TaskType::kFinetune ? "source" : out.type == TaskType::kDistill ? "teacher" : nullptr;
  if (source_key) {
    if (!cfg.has(source_key))
      throw ConfigError(cfg.path_of(source_key), std::string("a ") + to_string(out.type) + " task needs a \"" + source_key +
                                                     "\": a saved model's folder or {\"study\": NAME, \"trial\": \"best\"}");
    out.source = parse_model_source(cfg, source_key);
  }
  if (cfg.has("cross_validation"))
    out.cross_validation = CrossValidation::parse(cfg.raw("cross_validation"), cfg.path_of("cross_validation"));
  const json& objective = cfg.raw("objective");
  const std::string objective_path = cfg.path_of("objective");
  if (objective.is_array()) {
    if (objective.empty()) throw ConfigError(objective_path, "expected at least one objective");
    for (std::size_t i = 0; i < objective.size(); ++i)
      out.objectives.push_back(
          parse_objective(objective[i], objective_path + "[" + std::to_string(i) + "]", plugin_metrics));
  } else {
    out.objectives.push_back(parse_objective(objective, objective_path, plugin_metrics));
  }
  const ParamSchema& schema = task_schema(out.type);
  for (const auto& rule : schema.rules()) {
    if (!cfg.has(rule.name)) continue;
    if (rule.name == "class_weight") {
      check_class_weight(cfg.raw(rule.name), cfg.path_of(rule.name));
    } else {
      check_value(rule, cfg.raw(rule.name), cfg.path_of(rule.name));
    }
    out.settings[rule.name] = cfg.raw(rule.name);
  }
  cfg.finish();
  return out;
}

SearchSection parse_search(const ConfigObject& root) {
  ConfigObject cfg = root.object("search");
  SearchSection out;
  out.searcher = cfg.optional<std::string>("searcher", "random");
  out.trials = static_cast<int>(cfg.integer_in("trials", 1, 10'000'000, std::nullopt));
  out.parallel = static_cast<int>(cfg.integer_in("parallel", 1, 1024, 1));
  out.seed = static_cast<std::uint64_t>(cfg.integer_in("seed", 0, INT64_MAX, 0));
  out.space = SearchSpace::parse(cfg.raw("space"), cfg.path_of("space"));
  if (cfg.has("options")) out.options = cfg.object("options").value();
  cfg.finish();
  return out;
}

std::vector<PluginSection> parse_metric_sections(const ConfigObject& root) {
  std::vector<PluginSection> out;
  if (!root.has("metrics")) return out;
  const json& metrics = root.raw("metrics");
  const std::string path = root.path_of("metrics");
  if (!metrics.is_array())
    throw ConfigError(path, "expected an array of metric plugins, e.g. [{\"plugin\": \"clinical\"}], got " +
                                describe_json(metrics));
  for (std::size_t i = 0; i < metrics.size(); ++i) {
    ConfigObject section(metrics[i], path + "[" + std::to_string(i) + "]");
    PluginSection plugin;
    plugin.path = section.path();
    plugin.plugin = section.required<std::string>("plugin");
    if (plugin.plugin.empty()) throw ConfigError(section.path_of("plugin"), "expected a plugin name");
    for (const auto& other : out)
      if (other.plugin == plugin.plugin)
        throw ConfigError(section.path_of("plugin"), "metric plugin \"" + plugin.plugin + "\" is already listed at " +
                                                         other.path + "; list each once");
    plugin.config = section.value();
    plugin.config.erase("plugin");
    out.push_back(std::move(plugin));
  }
  return out;
}

// The domain pack an experiment file belongs to: the nearest folder above it holding pack.json.
std::string pack_folder_of(const std::filesystem::path& experiment_folder) {
  std::filesystem::path folder = experiment_folder;
  for (int up = 0; up < 3 && !folder.empty(); ++up, folder = folder.parent_path()) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(folder / "pack.json", ec)) return folder.string();
    if (folder == folder.root_path()) break;
  }
  return "";
}

}  // namespace

Experiment parse_experiment(const json& document, std::vector<std::string> data_dirs) {
  ConfigObject root(document, "");
  Experiment e;
  e.document = document;
  e.data_dirs = std::move(data_dirs);
  e.name = root.required<std::string>("name");
  validate_study_name(e.name, "name");
  e.description = root.optional<std::string>("description", "");
  e.dataset = parse_plugin_section(root, "dataset");
  if (e.dataset.config.contains("subset")) e.subset = DataSubset::parse(e.dataset.config["subset"], "dataset.subset");
  e.metrics = parse_metric_sections(root);
  e.task = parse_task(root, !e.metrics.empty());
  if (root.has("model") && has_model_choices(root.raw("model"))) {
    e.model_choices = parse_model_choices(root.raw("model"), root.path_of("model"));
    e.model = {e.model_choices.front().plugin, e.model_choices.front().config, "model"};
  } else if (e.task.type == TaskType::kFinetune && !root.has("model")) {
    // A fine-tuned network is the source's: its model section is optional (it may change dropout, say).
    e.model.path = "model";
  } else {
    e.model = parse_plugin_section(root, "model");
  }
  if (root.has("preprocess")) e.preprocess = parse_preprocess(root.raw("preprocess"), root.path_of("preprocess"));
  if (root.has("pruner")) e.pruner = PrunerSpec::parse(root.raw("pruner"), "pruner");
  e.search = parse_search(root);
  if (!e.model_choices.empty()) e.search.space = merge_model_choices(e.search.space, e.model_choices, "search.space");
  e.execution = parse_execution(root);
  if (root.has("storage")) {
    e.storage = root.required<std::string>("storage");
    parse_storage_url(e.storage, "storage");
  }
  root.finish();
  // A parameter is either fixed or searched: a silent override would hide a mistake.
  for (const auto& spec : e.search.space.params()) {
    const std::string path = "search.space." + spec.name;
    if (e.task.settings.contains(spec.name))
      throw ConfigError(path, "\"" + spec.name + "\" is also fixed at task." + spec.name +
                                  "; a parameter is either fixed or searched, remove one");
    if (e.preprocess.contains(spec.name))
      throw ConfigError(path, "\"" + spec.name + "\" is also fixed at preprocess." + spec.name +
                                  "; a parameter is either fixed or searched, remove one");
    if (e.model.config.contains(spec.name))
      throw ConfigError(path, "\"" + spec.name + "\" is also fixed at model." + spec.name +
                                  "; a parameter is either fixed or searched, remove one");
  }
  return e;
}

Experiment load_experiment(const std::string& file) {
  namespace fs = std::filesystem;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError("", std::string("cannot read the experiment file: ") + std::strerror(errno));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path folder = fs::absolute(fs::path(file)).parent_path().lexically_normal();
  std::vector<std::string> data_dirs{fs::current_path().string(), folder.string()};
  if (const std::string pack = pack_folder_of(folder); !pack.empty() && pack != folder.string()) data_dirs.push_back(pack);
  return parse_experiment_text(text, std::move(data_dirs));
}

Experiment parse_experiment_text(const std::string& text, std::vector<std::string> data_dirs) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    // Turn the byte offset into a line and column a text editor can jump to.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string reason = e.what();
    if (const auto at = reason.find("syntax error"); at != std::string::npos) reason = reason.substr(at);
    throw ConfigError("", "line " + std::to_string(line) + ", column " + std::to_string(column) +
                              ": invalid JSON: " + reason);
  } catch (const json::exception& e) {  // a number past double's range, say (found by bench/fuzz)
    std::string reason = e.what();
    if (const auto at = reason.find("] "); at != std::string::npos) reason = reason.substr(at + 2);
    throw ConfigError("", "invalid JSON: " + reason);
  }
  return parse_experiment(document, std::move(data_dirs));
}

std::string first_difference(const Experiment& a, const Experiment& b) {
  if (a.dataset.plugin != b.dataset.plugin || a.dataset.config != b.dataset.config) return "dataset";
  if (a.model.plugin != b.model.plugin || a.model.config != b.model.config ||
      a.document.value("model", json()) != b.document.value("model", json()))
    return "model";
  if (a.preprocess != b.preprocess) return "preprocess";
  if (a.document.value("metrics", json()) != b.document.value("metrics", json())) return "metrics";
  if (a.document.value("task", json()) != b.document.value("task", json())) return "task";
  if (a.search.searcher != b.search.searcher) return "search.searcher";
  if (a.search.seed != b.search.seed) return "search.seed";
  if (a.search.space.to_json() != b.search.space.to_json()) return "search.space";
  if (a.search.options != b.search.options) return "search.options";
  if (a.pruner.to_json() != b.pruner.to_json()) return "pruner";
  return "";
}

}  // namespace lepton::engine
