// Misclassification cost from a cost matrix: each sample is decided by the least expected cost
// given the predicted probabilities (the Bayes decision), then charged what its true class and
// that decision cost. German credit's published matrix makes a bad customer accepted cost 5 and a
// good one rejected cost 1, so the best decision is not the most probable class.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <limits>

namespace {

class CostMatrixMetrics final : public lepton::MetricSet {
 public:
  CostMatrixMetrics(std::vector<std::vector<double>> cost, bool bayes) : cost_(std::move(cost)), bayes_(bayes) {}

  std::map<std::string, double> compute(const lepton::Predictions& p) const override {
    const auto classes = static_cast<std::int64_t>(cost_.size());
    if (p.probabilities.size(1) != classes)
      throw std::invalid_argument("the cost matrix has " + std::to_string(classes) + " classes, the predictions " +
                                  std::to_string(p.probabilities.size(1)));
    const auto probabilities = p.probabilities.contiguous();
    const auto labels = p.labels.contiguous();
    const double* prob = probabilities.data_ptr<double>();
    const std::int64_t* label = labels.data_ptr<std::int64_t>();
    const auto n = labels.size(0);
    double total = 0;
    std::vector<double> constant(static_cast<std::size_t>(classes), 0.0);  // cost of always deciding j
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t decision = 0;
      double best = std::numeric_limits<double>::infinity();
      for (std::int64_t j = 0; j < classes; ++j) {
        double score = 0;  // expected cost of deciding j, or minus the probability for argmax
        if (bayes_) {
          for (std::int64_t k = 0; k < classes; ++k) score += prob[i * classes + k] * cost_[k][j];
        } else {
          score = -prob[i * classes + j];
        }
        if (score < best) {
          best = score;
          decision = j;
        }
        constant[static_cast<std::size_t>(j)] += cost_[label[i]][j];
      }
      total += cost_[label[i]][decision];
    }
    const double baseline = *std::min_element(constant.begin(), constant.end());
    return {{"average_cost", n > 0 ? total / static_cast<double>(n) : std::nan("")},
            {"total_cost", total},
            {"savings", baseline > 0 ? 1.0 - total / baseline : std::nan("")}};
  }

 private:
  std::vector<std::vector<double>> cost_;  // [true class][decision]
  bool bayes_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_metric([](const lepton::MetricSetup& setup) -> std::unique_ptr<lepton::MetricSet> {
    lepton::ConfigObject options(setup.options, setup.path);
    const std::size_t classes = setup.class_names.size();
    // Without "costs", every mistake costs 1 (average_cost is then the error rate).
    std::vector<std::vector<double>> cost(classes, std::vector<double>(classes, 1.0));
    for (std::size_t k = 0; k < classes; ++k) cost[k][k] = 0.0;
    if (options.has("costs")) {
      for (auto& row : cost) std::fill(row.begin(), row.end(), 0.0);
      lepton::ConfigObject rows = options.object("costs");
      for (const auto& truth : rows.value().items()) {
        const auto k = lepton::class_index(truth.key(), setup.class_names, rows.path_of(truth.key()));
        lepton::ConfigObject row = rows.object(truth.key());
        for (const auto& decided : row.value().items()) {
          const auto j = lepton::class_index(decided.key(), setup.class_names, row.path_of(decided.key()));
          cost[k][j] = row.number_in(decided.key(), 0.0, 1e12, std::nullopt);
        }
      }
    }
    const bool bayes = options.one_of("decision", {"min_expected_cost", "argmax"}, std::string("min_expected_cost")) ==
                       "min_expected_cost";
    options.finish();
    return std::make_unique<CostMatrixMetrics>(std::move(cost), bayes);
  });
}
