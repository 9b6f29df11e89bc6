// Parameter schemas: reading them from manifests and checking values and searched ranges.
#include "experiment/parameters.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace lepton::engine {

namespace {
std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string list_text(const std::vector<json>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v.dump();
  return out;
}
}  // namespace

ParamSchema ParamSchema::parse(const json& parameters, const std::string& source) {
  ConfigObject all(parameters, source);
  ParamSchema schema;
  for (const auto& item : parameters.items()) {
    ConfigObject cfg = all.object(item.key());
    ParamRule rule;
    rule.name = item.key();
    rule.type = cfg.one_of("type", {"int", "float", "categorical", "bool", "string", "array", "object"}, std::nullopt);
    if (cfg.has("low")) rule.low = cfg.required<double>("low");
    if (cfg.has("high")) rule.high = cfg.required<double>("high");
    if (cfg.has("choices")) {
      const json& choices = cfg.raw("choices");
      if (!choices.is_array() || choices.empty())
        throw ConfigError(cfg.path_of("choices"), "expected a non-empty array");
      rule.choices.assign(choices.begin(), choices.end());
    }
    if (rule.type == "categorical" && rule.choices.empty())
      throw ConfigError(cfg.path_of("choices"), "a categorical parameter needs choices");
    rule.description = cfg.optional<std::string>("description", "");
    if (cfg.has("default")) {
      rule.default_value = cfg.raw("default");
      check_value(rule, rule.default_value, cfg.path_of("default"));
    }
    cfg.finish();
    schema.rules_.push_back(std::move(rule));
  }
  return schema;
}

const ParamRule* ParamSchema::find(const std::string& name) const {
  const auto it = std::find_if(rules_.begin(), rules_.end(), [&](const ParamRule& r) { return r.name == name; });
  return it == rules_.end() ? nullptr : &*it;
}

std::vector<std::string> ParamSchema::names() const {
  std::vector<std::string> out;
  for (const auto& r : rules_) out.push_back(r.name);
  return out;
}

json ParamSchema::to_json() const {
  json out = json::object();
  for (const auto& r : rules_) {
    json p = {{"type", r.type}};
    if (r.low) p["low"] = *r.low;
    if (r.high) p["high"] = *r.high;
    if (!r.choices.empty()) p["choices"] = r.choices;
    if (!r.default_value.is_null()) p["default"] = r.default_value;
    if (!r.description.empty()) p["description"] = r.description;
    out[r.name] = p;
  }
  return out;
}

std::vector<DeclaredMetric> parse_declared_metrics(const json& metrics, const std::string& source) {
  ConfigObject all(metrics, source);
  std::vector<DeclaredMetric> out;
  for (const auto& item : metrics.items()) {
    ConfigObject cfg = all.object(item.key());
    DeclaredMetric m;
    m.name = item.key();
    const bool word = !m.name.empty() && std::all_of(m.name.begin(), m.name.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!word) throw ConfigError(cfg.path(), "metric names are lower-case letters, digits and '_'");
    m.direction = cfg.one_of("direction", {"maximize", "minimize"}, std::nullopt) == "minimize" ? Direction::kMinimize
                                                                                                : Direction::kMaximize;
    m.description = cfg.optional<std::string>("description", "");
    cfg.finish();
    out.push_back(std::move(m));
  }
  return out;
}

void check_value(const ParamRule& rule, const json& value, const std::string& path) {
  if (rule.type == "bool") {
    convert<bool>(value, path);
    return;
  }
  if (rule.type == "string") {
    convert<std::string>(value, path);
    return;
  }
  if (rule.type == "array" || rule.type == "object") {
    if (rule.type == "array" ? !value.is_array() : !value.is_object())
      throw ConfigError(path, "expected an " + rule.type + ", got " + describe_json(value));
    return;
  }
  if (rule.type == "categorical") {
    if (std::find(rule.choices.begin(), rule.choices.end(), value) == rule.choices.end())
      throw ConfigError(path, "\"" + rule.name + "\" takes one of " + list_text(rule.choices) + ", got " + value.dump());
    return;
  }
  const double v = rule.type == "int" ? static_cast<double>(convert<std::int64_t>(value, path)) : convert<double>(value, path);
  if ((rule.low && v < *rule.low) || (rule.high && v > *rule.high)) {
    const std::string lo = rule.low ? number_text(*rule.low) : "-inf";
    const std::string hi = rule.high ? number_text(*rule.high) : "inf";
    throw ConfigError(path, "\"" + rule.name + "\" takes values in [" + lo + ", " + hi + "], got " + value.dump());
  }
}

void check_searchable(const ParamRule& rule, const ParamSpec& spec, const std::string& path) {
  if (spec.numeric()) {
    const bool numeric_rule = rule.type == "int" || rule.type == "float";
    if (!numeric_rule)
      throw ConfigError(join_path(path, "type"), "\"" + rule.name + "\" takes " + rule.type +
                                                     " values; search it as \"categorical\" or \"fixed\"");
    if (rule.type == "int" && spec.type != ParamType::kInt)
      throw ConfigError(join_path(path, "type"), "\"" + rule.name + "\" takes integers; search it with \"type\": \"int\"");
    const auto as_json = [&](double v) {
      return spec.type == ParamType::kInt ? json(static_cast<std::int64_t>(v)) : json(v);
    };
    check_value(rule, as_json(spec.low), join_path(path, "low"));
    check_value(rule, as_json(spec.high), join_path(path, "high"));
    return;
  }
  if (spec.type == ParamType::kFixed) {
    check_value(rule, spec.value, join_path(path, "value"));
    return;
  }
  for (std::size_t i = 0; i < spec.choices.size(); ++i)
    check_value(rule, spec.choices[i], join_path(path, "choices") + "[" + std::to_string(i) + "]");
}

void check_options(const json& options, const ParamSchema& schema, const std::string& owner, const std::string& path) {
  if (!options.is_object()) throw ConfigError(path, "expected an object, got " + describe_json(options));
  for (const auto& item : options.items()) {
    const std::string item_path = join_path(path, item.key());
    if (const ParamRule* rule = schema.find(item.key())) {
      check_value(*rule, item.value(), item_path);
      continue;
    }
    std::string message = "unknown option for " + owner;
    const std::vector<std::string> names = schema.names();
    if (auto near = closest_match(item.key(), names)) message += " (did you mean \"" + *near + "\"?)";
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    throw ConfigError(item_path, message + (list.empty() ? "; it takes no options" : "; it takes: " + list));
  }
}

namespace {

// Settings of every task: the optimizer and the schedule.
constexpr const char* kTrainSettings = R"json({
  "epochs":       {"type": "int", "low": 1, "high": 100000, "default": 20,
                   "description": "passes over the training split"},
  "batch_size":   {"type": "int", "low": 1, "high": 1048576, "default": 32,
                   "description": "samples per optimizer step"},
  "optimizer":    {"type": "categorical", "choices": ["adam", "adamw", "sgd", "lbfgs"], "default": "adam",
                   "description": "the optimizer; lbfgs: full-batch L-BFGS with a line search (no lr, batch_size or schedule needed), for convex models such as linear and kernel"},
  "lr":           {"type": "float", "low": 1e-10, "high": 100, "default": 0.001,
                   "description": "learning rate"},
  "weight_decay": {"type": "float", "low": 0, "high": 10, "default": 0,
                   "description": "L2 penalty (decoupled for adamw)"},
  "momentum":     {"type": "float", "low": 0, "high": 0.9999, "default": 0.9,
                   "description": "momentum, for sgd"},
  "warmup_epochs": {"type": "float", "low": 0, "high": 100000, "default": 0,
                   "description": "linear learning-rate warm-up from 0 over this many epochs"},
  "lr_schedule":  {"type": "categorical", "choices": ["constant", "cosine"], "default": "constant",
                   "description": "after the warm-up: keep the learning rate, or let it decay to 0 along a half cosine by the last epoch"},
  "mixup":        {"type": "float", "low": 0, "high": 100, "default": 0,
                   "description": "mixup: train on mixtures of sample pairs, weights from Beta(mixup, mixup); 0: off"},
  "augment_flip": {"type": "bool", "default": false,
                   "description": "image augmentation: mirror each training image left-right with probability 1/2 (never validation or test images; samples {C, H, W})"},
  "augment_crop": {"type": "int", "low": 0, "high": 1024, "default": 0,
                   "description": "image augmentation: pad by this many pixels and crop back at a random place, i.e. shift by up to this many pixels"},
  "augment_shift": {"type": "float", "low": 0, "high": 0.5, "default": 0,
                   "description": "image augmentation: shift by up to this fraction of the width and height"},
  "augment_rotate": {"type": "float", "low": 0, "high": 180, "default": 0,
                   "description": "image augmentation: rotate by up to this many degrees either way"},
  "lbfgs_iterations": {"type": "int", "low": 1, "high": 100000, "default": 20,
                   "description": "optimizer lbfgs: L-BFGS iterations per epoch, each on the whole training split"},
  "class_weight": {"type": "categorical", "choices": ["none", "balanced"], "default": "none",
                   "description": "loss weight per class: \"balanced\" (inverse class frequency in the training split), or explicit weights {\"class name\": w, ...} or [w, ...]"}
})json";

constexpr const char* kFinetuneSettings = R"json({
  "freeze_layers":     {"type": "int", "low": 0, "high": 1000, "default": 0,
                        "description": "backbone layers, from the input side, kept as the source trained them"},
  "backbone_lr_scale": {"type": "float", "low": 0, "high": 100, "default": 1,
                        "description": "learning rate of the (unfrozen) backbone relative to the head's"},
  "head_epochs":       {"type": "int", "low": 0, "high": 100000, "default": 0,
                        "description": "first epochs that train the head alone before the backbone joins"},
  "head":              {"type": "categorical", "choices": ["auto", "new", "keep"], "default": "auto",
                        "description": "auto: a new head when the classes differ from the source's; new: always; keep: never"},
  "feature_cache":     {"type": "bool", "default": true,
                        "description": "when the whole backbone is frozen (backbone_lr_scale 0, or freeze_layers covering it): compute its features once per study and train only the head on them; false: run the frozen backbone every step (both in eval mode)"}
})json";

constexpr const char* kDistillSettings = R"json({
  "temperature":    {"type": "float", "low": 0.01, "high": 1000, "default": 4,
                     "description": "softmax temperature T of the teacher's and the student's outputs"},
  "alpha":          {"type": "float", "low": 0, "high": 1, "default": 0.7,
                     "description": "weight of the soft (teacher) loss; 1 - alpha weighs the hard labels"},
  "feature_weight": {"type": "float", "low": 0, "high": 10000, "default": 0,
                     "description": "weight of the feature loss (MSE between a teacher layer and a projected student layer); 0: off"},
  "teacher_layer":  {"type": "int", "low": -1000, "high": 1000, "default": -1,
                     "description": "the teacher's backbone layer to match, from 0; negative counts from the last"},
  "student_layer":  {"type": "int", "low": -1000, "high": 1000, "default": -1,
                     "description": "the student's backbone layer matched to it, from 0; negative counts from the last"}
})json";

ParamSchema schema_of(std::initializer_list<const char*> parts) {
  json all = json::object();
  for (const char* part : parts) all.update(json::parse(part));
  return ParamSchema::parse(all, "task");
}

}  // namespace

const char* to_string(TaskType type) {
  switch (type) {
    case TaskType::kTrain: return "train";
    case TaskType::kFinetune: return "finetune";
    case TaskType::kDistill: return "distill";
  }
  return "unknown";
}

const std::vector<std::string>& task_type_names() {
  static const std::vector<std::string> names{to_string(TaskType::kTrain), to_string(TaskType::kFinetune),
                                              to_string(TaskType::kDistill)};
  return names;
}

std::optional<TaskType> parse_task_type(const std::string& name) {
  for (const TaskType type : {TaskType::kTrain, TaskType::kFinetune, TaskType::kDistill})
    if (name == to_string(type)) return type;
  return std::nullopt;
}

const ParamSchema& task_schema(TaskType type) {
  static const ParamSchema train = schema_of({kTrainSettings});
  static const ParamSchema finetune = schema_of({kTrainSettings, kFinetuneSettings});
  static const ParamSchema distill = schema_of({kTrainSettings, kDistillSettings});
  switch (type) {
    case TaskType::kTrain: return train;
    case TaskType::kFinetune: return finetune;
    case TaskType::kDistill: return distill;
  }
  throw std::invalid_argument("no settings known for task type " + std::to_string(static_cast<int>(type)));
}

const json& task_setting(TaskType type, const json& settings, const std::string& name) {
  const auto it = settings.find(name);
  if (it != settings.end()) return *it;
  const ParamRule* rule = task_schema(type).find(name);
  if (!rule) throw std::invalid_argument(std::string("the ") + to_string(type) + " task has no setting \"" + name + "\"");
  return rule->default_value;
}

}  // namespace lepton::engine
