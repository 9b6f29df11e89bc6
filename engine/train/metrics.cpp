// Classification metrics computed on the CPU from logits; small held-out splits make this cheap.
#include "train/metrics.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace lepton::engine {

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Counts {
  double tp = 0, fp = 0, fn = 0;
  double precision() const { return tp + fp > 0 ? tp / (tp + fp) : 0.0; }
  double recall() const { return tp + fn > 0 ? tp / (tp + fn) : 0.0; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
};
}  // namespace

ClassificationMetrics classification_metrics(const at::Tensor& logits, const at::Tensor& labels) {
  if (logits.dim() != 2 || labels.dim() != 1 || logits.size(0) != labels.size(0))
    throw std::invalid_argument("metrics need logits {N, C} and labels {N}");
  ClassificationMetrics m;
  const auto n = logits.size(0);
  const auto classes = logits.size(1);
  if (n == 0) return {kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  const auto logits64 = logits.to(torch::kFloat64).contiguous();
  const auto y = labels.to(torch::kLong).contiguous();
  m.loss = torch::nn::functional::cross_entropy(logits64, y).item<double>();
  const auto probabilities = torch::softmax(logits64, 1).contiguous();
  const auto predicted = logits64.argmax(1).contiguous();
  const auto* p = probabilities.data_ptr<double>();
  const auto* pred = predicted.data_ptr<std::int64_t>();
  const auto* truth = y.data_ptr<std::int64_t>();

  std::vector<Counts> counts(static_cast<std::size_t>(classes));
  double correct = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (pred[i] == truth[i]) {
      correct += 1;
      counts[truth[i]].tp += 1;
    } else {
      counts[pred[i]].fp += 1;
      counts[truth[i]].fn += 1;
    }
  }
  m.accuracy = correct / static_cast<double>(n);

  auto auc_for = [&](std::int64_t c) {
    std::vector<double> scores(static_cast<std::size_t>(n));
    std::vector<bool> positive(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      scores[i] = p[i * classes + c];
      positive[i] = truth[i] == c;
    }
    return roc_auc(scores, positive);
  };

  if (classes == 2) {
    m.precision = counts[1].precision();
    m.recall = counts[1].recall();
    m.f1 = counts[1].f1();
    m.roc_auc = auc_for(1);
  } else {
    double auc_sum = 0, auc_count = 0;
    for (std::int64_t c = 0; c < classes; ++c) {
      m.precision += counts[c].precision() / static_cast<double>(classes);
      m.recall += counts[c].recall() / static_cast<double>(classes);
      m.f1 += counts[c].f1() / static_cast<double>(classes);
      const double auc = auc_for(c);
      if (!std::isnan(auc)) {
        auc_sum += auc;
        auc_count += 1;
      }
    }
    m.roc_auc = auc_count > 0 ? auc_sum / auc_count : kNaN;
  }
  return m;
}

double metric_value(const ClassificationMetrics& m, const std::string& short_name) {
  if (short_name == "accuracy") return m.accuracy;
  if (short_name == "precision") return m.precision;
  if (short_name == "recall") return m.recall;
  if (short_name == "f1") return m.f1;
  if (short_name == "roc_auc") return m.roc_auc;
  if (short_name == "loss") return m.loss;
  throw std::invalid_argument("unknown metric \"" + short_name + "\"");
}

void add_metrics(std::map<std::string, double>& out, const std::string& prefix, const ClassificationMetrics& m) {
  for (const auto& name : split_metric_names()) out[prefix + "_" + name] = metric_value(m, name);
}

}  // namespace lepton::engine
