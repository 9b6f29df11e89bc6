// What a study optimizes: objectives and the names of the built-in metrics. A leaf header, so the
// store and the reports can name objectives without the experiment parser or LibTorch.
#pragma once

#include <lepton/searcher.hpp>

#include <string>
#include <vector>

namespace lepton::engine {

/// One objective of a study: a metric and whether to minimize or maximize it.
struct Objective {
  std::string metric;  ///< e.g. "val_accuracy"
  Direction direction = Direction::kMaximize;
  /// False when the file left the direction out: a metric plugin's manifest then decides it.
  bool direction_given = true;
};

/// Objectives as stores and reports write them: [{"metric": "val_f1", "direction": "maximize"}, ...].
json objectives_to_json(const std::vector<Objective>& objectives);
/// Reads objectives_to_json()'s form.
std::vector<Objective> objectives_from_json(const json& value);

/// The metrics computed on each held-out split, by short name: "accuracy", ..., "loss".
const std::vector<std::string>& split_metric_names();

/// The metric names a study can report and optimize: val_*, test_* and train_loss.
const std::vector<std::string>& known_metrics();

/// The canonical name of a metric's default direction: losses, parameter_count and latency_ms are
/// minimized, the rest maximized.
Direction default_direction(const std::string& metric);

/// Whether `metric` names a built-in metric (val_*, test_*, train_loss, parameter_count, latency_ms).
bool is_builtin_metric(const std::string& metric);

}  // namespace lepton::engine
