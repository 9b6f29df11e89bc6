// Clinical metrics for a screening decision: how many patients with the condition are caught
// (sensitivity), how many without it are spared (specificity), what a positive or negative result
// means (PPV, NPV), AUC, and the sensitivity reachable at a fixed specificity.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double a, double b) { return b > 0 ? a / b : kNaN; }

class ClinicalMetrics final : public lepton::MetricSet {
 public:
  ClinicalMetrics(std::int64_t positive, double threshold, double target_specificity)
      : positive_(positive), threshold_(threshold), target_specificity_(target_specificity) {}

  std::map<std::string, double> compute(const lepton::Predictions& p) const override {
    const auto scores_tensor = p.probabilities.select(1, positive_).contiguous();
    const auto labels = p.labels.contiguous();
    const double* score = scores_tensor.data_ptr<double>();
    const std::int64_t* label = labels.data_ptr<std::int64_t>();
    const auto n = labels.size(0);
    std::vector<double> scores(score, score + n);
    std::vector<bool> sick(static_cast<std::size_t>(n));
    double tp = 0, fp = 0, tn = 0, fn = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      sick[static_cast<std::size_t>(i)] = label[i] == positive_;
      const bool flagged = score[i] >= threshold_;
      if (sick[static_cast<std::size_t>(i)]) {
        (flagged ? tp : fn) += 1;
      } else {
        (flagged ? fp : tn) += 1;
      }
    }
    const double sensitivity = ratio(tp, tp + fn), specificity = ratio(tn, tn + fp);
    // The best sensitivity of any threshold whose specificity meets the target.
    double at_specificity = kNaN;
    for (const auto& point : lepton::roc_curve(scores, sick))
      if (1.0 - point.false_positive_rate >= target_specificity_ - 1e-12)
        at_specificity = std::isnan(at_specificity) ? point.true_positive_rate : std::max(at_specificity, point.true_positive_rate);
    return {{"sensitivity", sensitivity},
            {"specificity", specificity},
            {"ppv", ratio(tp, tp + fp)},
            {"npv", ratio(tn, tn + fn)},
            {"balanced_accuracy", (sensitivity + specificity) / 2},
            {"auc", lepton::roc_auc(scores, sick)},
            {"sensitivity_at_specificity", at_specificity}};
  }

 private:
  std::int64_t positive_;
  double threshold_, target_specificity_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_metric([](const lepton::MetricSetup& setup) -> std::unique_ptr<lepton::MetricSet> {
    lepton::ConfigObject options(setup.options, setup.path);
    const std::int64_t positive =
        lepton::class_index(options.optional<lepton::json>("positive", 1), setup.class_names, options.path_of("positive"));
    const double threshold = options.number_in("threshold", 0.0, 1.0, 0.5);
    const double target = options.number_in("target_specificity", 0.0, 1.0, 0.95);
    options.finish();
    return std::make_unique<ClinicalMetrics>(positive, threshold, target);
  });
}
