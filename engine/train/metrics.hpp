// Classification metrics on held-out data: accuracy, precision, recall, F1, ROC-AUC and loss.
#pragma once

#include "metrics/objective.hpp"

#include <lepton/metric.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace lepton::engine {

/// Metrics of one split. Binary tasks score the positive class (index 1); multi-class tasks use
/// macro averages, and one-vs-rest for ROC-AUC. Undefined values (AUC with one class present) are NaN.
struct ClassificationMetrics {
  double accuracy = 0, precision = 0, recall = 0, f1 = 0, roc_auc = 0, loss = 0;
};

/// Computes the metrics from logits {N, C} and labels {N}.
ClassificationMetrics classification_metrics(const at::Tensor& logits, const at::Tensor& labels);

/// Area under the ROC curve (the SDK's, which metric plugins use too).
using lepton::roc_auc;

/// Adds `m` to `out` as "<prefix>_accuracy", "<prefix>_precision", ... .
void add_metrics(std::map<std::string, double>& out, const std::string& prefix, const ClassificationMetrics& m);


/// One metric of `m` by its short name ("accuracy", "f1", ...).
double metric_value(const ClassificationMetrics& m, const std::string& short_name);

}  // namespace lepton::engine
