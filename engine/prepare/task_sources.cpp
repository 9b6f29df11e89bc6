// Preparing a study's task: finding and loading its source or teacher, loading the data, and
// checking they fit the task's settings. A study reference opens the referenced store read-only.
#include "prepare/task_sources.hpp"

#include "prepare/names_text.hpp"
#include "data/subset.hpp"
#include "store/trial_order.hpp"
#include "train/preprocess.hpp"
#include "train/tasks/distill.hpp"
#include "train/tasks/frozen_backbone.hpp"

#include <filesystem>

namespace lepton::engine {

namespace {

namespace fs = std::filesystem;

std::string shape_text(const std::vector<std::int64_t>& shape) { return json(shape).dump(); }


// A saved model named by path (its folder, or the model.json or weights.pt file in it): absolute,
// or relative to the working directory, then to the experiment file's folder (like data files).
std::string resolve_model_folder(const std::string& file, const std::vector<std::string>& dirs, const std::string& path) {
  std::vector<fs::path> tried;
  if (fs::path(file).is_absolute() || dirs.empty()) {
    tried.push_back(fs::absolute(file));
  } else {
    for (const auto& dir : dirs) tried.push_back(fs::absolute(fs::path(dir) / file));
  }
  std::string looked;
  for (const auto& candidate : tried) {
    const auto normal = candidate.lexically_normal();
    const bool names_file = normal.filename() == kModelCardFile || normal.filename() == kWeightsFile;
    const auto folder = names_file ? normal.parent_path() : normal;
    std::error_code ec;
    if (fs::is_regular_file(folder / kModelCardFile, ec)) return folder.string();
    looked += (looked.empty() ? "" : ", ") + folder.string();
  }
  throw ConfigError(path, "no saved model \"" + file + "\" (a folder with " + kModelCardFile + "); looked in " + looked +
                              "; `lepton export` writes one, or name a study: {\"study\": NAME, \"trial\": \"best\"}");
}

// The trial a {"study": ..., "trial": ...} reference names, and its saved model's folder.
SourceModel find_study_source(const ModelSource& ref, const std::string& run_storage) {
  const std::string url = !ref.storage.empty() ? ref.storage : !run_storage.empty() ? run_storage : kDefaultStorage;
  std::unique_ptr<Store> store;
  try {
    store = open_store(url, OpenMode::kExisting);
  } catch (const ConfigError& e) {
    throw ConfigError(ref.path, "cannot find study \"" + ref.study + "\": " + e.detail());
  }
  const auto study = store->find_study(ref.study);
  if (!study) {
    std::vector<std::string> names;
    for (const auto& s : store->list_studies()) names.push_back(s.name);
    std::string message = "no study \"" + ref.study + "\" in " + url;
    if (auto near = closest_match(ref.study, names)) message += " (did you mean \"" + *near + "\"?)";
    throw ConfigError(ref.path + ".study", message + "; run it first (studies there: " +
                                               names_text(names, 12) + ")");
  }
  const auto trials = store->trials(study->id);
  std::optional<TrialRecord> chosen;
  if (ref.trial == "best") {
    chosen = best_trial(trials, study->objectives);
    if (!chosen) throw ConfigError(ref.path + ".trial", "study \"" + ref.study + "\" has no COMPLETE trial yet");
  } else {
    const int number = std::stoi(ref.trial);
    for (const auto& t : trials)
      if (t.number == number) chosen = t;
    if (!chosen) throw ConfigError(ref.path + ".trial", "study \"" + ref.study + "\" has no trial " + ref.trial);
    if (chosen->state != TrialState::kComplete)
      throw ConfigError(ref.path + ".trial", "trial " + ref.trial + " of study \"" + ref.study + "\" is " +
                                                 to_string(chosen->state) + ", not COMPLETE");
  }
  const auto artifact = chosen->artifacts.find("model");
  if (artifact == chosen->artifacts.end())
    throw ConfigError(ref.path, "trial " + std::to_string(chosen->number) + " of study \"" + ref.study +
                                    "\" has no saved model (its study ran without a place for artifacts, e.g. in memory)");
  SourceModel out;
  out.folder = artifact->second;
  out.description = "trial " + std::to_string(chosen->number) + " of study " + ref.study;
  out.reference = {{"study", ref.study}, {"trial", chosen->number}, {"storage", url}, {"folder", out.folder}};
  return out;
}

// Throws when a fixed value or the searched range of integer task setting `name` leaves [low, high].
void check_setting_range(const Experiment& e, const std::string& name, std::int64_t low, std::int64_t high,
                         const std::string& why) {
  auto check = [&](const json& v, const std::string& path) {
    if (v.is_number_integer() && (v.get<std::int64_t>() < low || v.get<std::int64_t>() > high))
      throw ConfigError(path, "\"" + name + "\" " + v.dump() + " is out of range: " + why);
  };
  if (e.task.settings.contains(name)) check(e.task.settings[name], "task." + name);
  if (const ParamSpec* spec = e.search.space.find(name)) {
    const std::string path = "search.space." + name;
    if (spec->numeric()) {
      check(json(static_cast<std::int64_t>(spec->low)), path + ".low");
      check(json(static_cast<std::int64_t>(spec->high)), path + ".high");
    } else if (spec->type == ParamType::kFixed) {
      check(spec->value, path + ".value");
    } else {
      for (std::size_t i = 0; i < spec->choices.size(); ++i) check(spec->choices[i], path + ".choices[" + std::to_string(i) + "]");
    }
  }
}

}  // namespace

std::shared_ptr<TaskResources> open_task(const Experiment& e, const Registry& registry) {
  auto task = std::make_shared<TaskResources>();
  if (!e.task.source) return task;
  const ModelSource& ref = *e.task.source;
  SourceModel source;
  if (!ref.file.empty()) {
    source.folder = resolve_model_folder(ref.file, e.data_dirs, ref.path);
    source.description = source.folder;
    source.reference = {{"path", source.folder}};
  } else {
    source = find_study_source(ref, e.storage);
  }
  source.card = read_model_card(source.folder, ref.path);
  source.net = load_model(source.folder, source.card, registry, ref.path);
  task->source = std::move(source);
  return task;
}

std::string task_model_plugin(const Experiment& e, const TaskResources& task) {
  if (e.model.plugin.empty() && task.source) return task.source->card.model_plugin;
  return e.model.plugin;
}

std::shared_ptr<DataSplits> load_study_data(const Experiment& e, const Registry& registry, TaskResources& task) {
  DatasetRequest request;
  request.config = e.dataset.config;
  request.config.erase("subset");  // the engine's option, not the plugin's
  request.path = e.dataset.path;
  request.search_dirs = e.data_dirs;
  auto data = std::make_shared<DataSplits>(registry.dataset(e.dataset.plugin).load(request));
  task.dataset_fitted = data->fitted;
  task.subset_classes = apply_subset(*data, e.subset, e.dataset.path + ".subset");
  return data;
}

void bind_task_data(TaskResources& task, const Experiment& e, const DataSplits& data) {
  if (!task.source) return;
  SourceModel& source = *task.source;
  const std::string& path = e.task.source->path;
  const std::string role = e.task.type == TaskType::kFinetune ? "source" : "teacher";
  if (source.card.input_shape != data.input_shape)
    throw ConfigError(path, "the " + role + " (" + source.description + ") takes samples of shape " +
                                shape_text(source.card.input_shape) + ", but the data's are " + shape_text(data.input_shape));
  // A source trained on float inputs reads the folder's raw pixels through the data's scaling.
  if (auto net = reading_pixels(source.net, data.pixels, data.input_shape); net != source.net) {
    source.net = std::move(net);
    source.card.preprocess = split_preprocessing(source.net).second.describe();
  }
  if (e.task.type == TaskType::kFinetune) {
    if (!e.model.plugin.empty() && e.model.plugin != source.card.model_plugin)
      throw ConfigError(e.model.path + ".plugin", "the source was trained with model \"" + source.card.model_plugin +
                                                      "\"; fine-tuning continues that model (leave out \"model\" or name it)");
    const auto layers = static_cast<std::int64_t>(source.net->backbone_layers().size());
    check_setting_range(e, "freeze_layers", 0, layers,
                        "the source's model has " + std::to_string(layers) + " backbone layers");
    task.backbone_features = std::make_shared<BackboneFeatures>(source.net, data);
    if (e.task.settings.value("head", "auto") == "keep" && source.card.class_names.size() != data.class_names.size())
      throw ConfigError("task.head", "\"keep\" needs the source's " + std::to_string(source.card.class_names.size()) +
                                         " classes, but the data has " + std::to_string(data.class_names.size()));
    return;
  }
  if (source.card.class_names != data.class_names)
    throw ConfigError(path, "the teacher (" + source.description + ") predicts the classes " +
                                names_text(source.card.class_names, 12) + ", but the data's are " + names_text(data.class_names, 12) +
                                "; distil on the data the teacher was trained for");
  auto teacher = std::make_shared<Teacher>(source.net, data);
  const auto layers = static_cast<std::int64_t>(teacher->layer_count());
  const std::string why = "the teacher's model exposes " + std::to_string(layers) + " backbone layer(s)";
  check_setting_range(e, "teacher_layer", -layers, layers - 1, why);
  task.teacher = std::move(teacher);
}

}  // namespace lepton::engine
