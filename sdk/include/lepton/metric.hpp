// The metric interface: named scores of one split's predictions, which studies store and optimize.
#pragma once

#include <lepton/config.hpp>
#include <lepton/export.hpp>

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lepton {

/// One split's predictions, as a metric set sees them.
struct LEPTON_API Predictions {
  at::Tensor probabilities;  ///< float64 {N, C}; each row sums to 1
  at::Tensor labels;         ///< int64 {N}; the true classes
  at::Tensor outcome;        ///< float64 {N}: the dataset's per-sample outcome (Split::outcome), or undefined
  std::string split;         ///< "val" or "test"
};

/// Given once per study, when the engine creates the study's metric set.
struct LEPTON_API MetricSetup {
  json options = json::object();          ///< the experiment's `metrics[i]` section without "plugin"
  std::string path = "metrics";           ///< JSON path of that section, for error messages
  std::vector<std::string> class_names;   ///< the data's classes, index -> name
};

/// Computes named metrics from predictions. The names and their directions are declared in the
/// plugin's manifest (`"metrics": {"sensitivity": {"direction": "maximize", ...}}`), so experiments
/// can name them as objectives before any plugin code runs; the engine stores each as
/// `val_<name>` and `test_<name>`.
///
/// One instance serves every trial of a study, from several threads at once: compute() must not
/// modify the object.
class LEPTON_API MetricSet {
 public:
  virtual ~MetricSet() = default;
  /// Every declared metric by name. NaN where a value is undefined on this split (for example AUC
  /// when one class is absent); the engine fails a trial whose objective is NaN.
  virtual std::map<std::string, double> compute(const Predictions& predictions) const = 0;
};

/// Creates a study's metric set. Throw ConfigError for bad `setup.options` (checked before
/// anything is stored).
using MetricFactory = std::function<std::unique_ptr<MetricSet>(const MetricSetup& setup)>;

/// Area under the ROC curve of `scores` for the samples marked `positive` (the Mann-Whitney
/// statistic; tied scores count half). NaN when either group is empty.
LEPTON_API double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

/// One operating point of a score threshold: samples scoring >= threshold are called positive.
struct LEPTON_API RocPoint {
  double threshold = 0;
  double false_positive_rate = 0;  ///< 1 - specificity
  double true_positive_rate = 0;   ///< sensitivity
};

/// Every distinct operating point, from the strictest threshold (nothing positive) to the most
/// lenient (everything positive). Empty when either group is empty.
LEPTON_API std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<bool>& positive);

/// The class index an option names: a class name from `class_names` or an integer index. Throws
/// ConfigError at `path` listing the classes otherwise.
LEPTON_API std::int64_t class_index(const json& which, const std::vector<std::string>& class_names,
                                    const std::string& path);

}  // namespace lepton
