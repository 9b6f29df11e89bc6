// Which parameters each component takes, and checks of fixed values and searched ranges against them.
#pragma once

#include <lepton/config.hpp>
#include <lepton/search_space.hpp>
#include <lepton/searcher.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// One parameter a component accepts, as its manifest (or the task) describes it:
/// `"lr": {"type": "float", "low": 1e-10, "high": 10, "default": 0.001, "description": "..."}`.
struct ParamRule {
  std::string name;
  std::string type;              ///< "int", "float", "categorical", "bool", "string", "array" or "object"
  std::optional<double> low;     ///< int/float: smallest accepted value
  std::optional<double> high;    ///< int/float: largest accepted value
  std::vector<json> choices;     ///< categorical: the accepted values
  json default_value;            ///< null when the parameter has no default
  std::string description;
};

/// The parameters of one component, by name.
class ParamSchema {
 public:
  ParamSchema() = default;
  /// Reads a manifest's "parameters" object; `source` names it in errors (e.g. the manifest file).
  static ParamSchema parse(const json& parameters, const std::string& source);

  const ParamRule* find(const std::string& name) const;
  const std::vector<ParamRule>& rules() const noexcept { return rules_; }
  std::vector<std::string> names() const;
  /// The schema as JSON, in the form parse() reads.
  json to_json() const;

 private:
  std::vector<ParamRule> rules_;
};

/// A metric a plugin declares in its manifest: `"metrics": {"sensitivity": {"direction": ...}}`.
struct DeclaredMetric {
  std::string name;  ///< without the split prefix, e.g. "sensitivity"
  Direction direction = Direction::kMaximize;
  std::string description;
};

/// Reads a metric plugin manifest's "metrics" object; throws ConfigError at `source` naming what is wrong.
std::vector<DeclaredMetric> parse_declared_metrics(const json& metrics, const std::string& source);

/// Throws ConfigError at `path` when `value` is not acceptable for `rule`.
void check_value(const ParamRule& rule, const json& value, const std::string& path);

/// Throws ConfigError at `path` when a searched parameter can take values `rule` refuses
/// (a float range for an integer, a range past the limits, a choice outside the accepted ones).
void check_searchable(const ParamRule& rule, const ParamSpec& spec, const std::string& path);

/// Throws ConfigError at `<path>.<key>` for a key of `options` (a JSON object) that `schema` does
/// not declare, naming `owner` (e.g. `searcher "evolution"`) and what it takes, or for a value its
/// rule refuses. Checks a plugin's options against its manifest before the plugin sees them.
void check_options(const json& options, const ParamSchema& schema, const std::string& owner, const std::string& path);

/// What an experiment's task does with its model: `task.type` in the experiment file.
enum class TaskType { kTrain, kFinetune, kDistill };

/// "train", "finetune" or "distill".
const char* to_string(TaskType type);

/// The names `task.type` accepts, in the order the documentation gives them.
const std::vector<std::string>& task_type_names();

/// The task type named `name`; nothing for any other text. The experiment parser reads `task.type`
/// with it once; everything after compares TaskType values.
std::optional<TaskType> parse_task_type(const std::string& name);

/// The settings of a task type: every task takes epochs, batch_size, optimizer, lr, weight_decay,
/// momentum and warmup_epochs; "finetune" adds freeze_layers, backbone_lr_scale, head_epochs and
/// head; "distill" adds temperature, alpha, feature_weight, teacher_layer and student_layer.
const ParamSchema& task_schema(TaskType type);

/// The value of task setting `name` in `settings` (fixed and searched values), else its default.
const json& task_setting(TaskType type, const json& settings, const std::string& name);

}  // namespace lepton::engine
