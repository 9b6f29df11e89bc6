// ROC helpers and class lookup for metric plugins (the engine's own metrics use them too).
#include <lepton/metric.hpp>

#include <algorithm>
#include <limits>
#include <numeric>

namespace lepton {

namespace {
// Sample order by descending score.
std::vector<std::size_t> by_score_descending(const std::vector<double>& scores) {
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  return order;
}
}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Sum of the positives' ranks, with tied scores sharing their average rank.
  double rank_sum = 0, positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (static_cast<double>(i + j - 1) / 2.0) + 1.0;
    for (std::size_t k = i; k < j; ++k)
      if (positive[order[k]]) {
        rank_sum += average_rank;
        positives += 1;
      }
    i = j;
  }
  const double negatives = static_cast<double>(n) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

std::vector<RocPoint> roc_curve(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const double positives = static_cast<double>(std::count(positive.begin(), positive.end(), true));
  const double negatives = static_cast<double>(positive.size()) - positives;
  if (positives == 0 || negatives == 0) return {};
  std::vector<RocPoint> curve{{std::numeric_limits<double>::infinity(), 0.0, 0.0}};
  const auto order = by_score_descending(scores);
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size();) {
    // Tied scores cross the threshold together.
    std::size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      (positive[order[j]] ? tp : fp) += 1;
      ++j;
    }
    curve.push_back({scores[order[i]], fp / negatives, tp / positives});
    i = j;
  }
  return curve;
}

std::int64_t class_index(const json& which, const std::vector<std::string>& class_names, const std::string& path) {
  const auto classes = static_cast<std::int64_t>(class_names.size());
  if (which.is_number_integer()) {
    const auto i = which.get<std::int64_t>();
    if (i < 0 || i >= classes) {
      std::string list;
      for (const auto& name : class_names) list += (list.empty() ? "" : ", ") + name;
      throw ConfigError(path, "class index " + which.dump() + " is outside [0, " + std::to_string(classes) +
                                  "); classes: " + list);
    }
    return i;
  }
  if (!which.is_string()) throw ConfigError(path, "expected a class name or index, got " + describe_json(which));
  const auto name = which.get<std::string>();
  const auto it = std::find(class_names.begin(), class_names.end(), name);
  if (it == class_names.end()) throw unknown_name_error(path, "class", name, class_names);
  return it - class_names.begin();
}

}  // namespace lepton
