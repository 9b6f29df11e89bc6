// Encodes trials as feature rows (numbers on the searcher's internal scale, categories as choice
// indices, inactive conditional parameters as a value below every real one), fits the forest, then
// shuffles one column at a time among each tree's out-of-bag rows and records how much worse the
// tree predicts. A parameter the objective does not depend on barely changes the error.
#include "report/importance.hpp"

#include "report/random_forest.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lepton::engine {

namespace {

// The value a feature takes when its parameter is inactive: below every real value.
double inactive_code(const ParamSpec& spec) {
  if (!spec.numeric()) return -1.0;
  const auto [low, high] = SearchSpace::internal_bounds(spec);
  return low - (high - low) - 1.0;
}

double encode(const ParamSpec& spec, const json& value) {
  if (spec.numeric() && value.is_number()) return SearchSpace::to_internal(spec, value.get<double>());
  const int index = spec.choice_index(value);
  return index >= 0 ? index : inactive_code(spec);
}

}  // namespace

Importances param_importances(const SearchSpace& space, const std::vector<TrialRecord>& trials,
                              const std::vector<Objective>& objectives, std::size_t objective,
                              const ImportanceOptions& options) {
  Importances out;
  out.objective = objectives.at(objective).metric;
  std::vector<const ParamSpec*> specs;
  for (const auto& spec : space.params())
    if (spec.type != ParamType::kFixed) specs.push_back(&spec);
  if (specs.empty()) {
    out.note = "the study searches no parameters";
    return out;
  }

  std::vector<const TrialRecord*> usable;
  for (const auto& t : trials)
    if (t.state == TrialState::kComplete && objective < t.values.size() && std::isfinite(t.values[objective]))
      usable.push_back(&t);
  if (usable.size() > options.max_trials) {  // a seeded sample, in trial order
    Rng rng(derive_seed(options.seed, 0x1397));
    for (std::size_t i = 0; i < options.max_trials; ++i)
      std::swap(usable[i], usable[i + static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(usable.size() - i) - 1))]);
    usable.resize(options.max_trials);
    std::sort(usable.begin(), usable.end(), [](const TrialRecord* a, const TrialRecord* b) { return a->number < b->number; });
  }
  out.trials_used = usable.size();
  if (usable.size() < kMinImportanceTrials) {
    out.note = "needs at least " + std::to_string(kMinImportanceTrials) + " COMPLETE trials, the study has " +
               std::to_string(usable.size());
    return out;
  }

  std::vector<std::vector<double>> x;
  std::vector<double> y;
  x.reserve(usable.size());
  for (const TrialRecord* t : usable) {
    std::vector<double> row;
    row.reserve(specs.size());
    for (const ParamSpec* spec : specs)
      row.push_back(t->params.contains(spec->name) ? encode(*spec, t->params[spec->name]) : inactive_code(*spec));
    x.push_back(std::move(row));
    y.push_back(t->values[objective]);
  }
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
  double total = 0;
  for (double v : y) total += (v - mean) * (v - mean);
  if (total <= 1e-24 * std::max(1.0, mean * mean)) {
    out.note = "every COMPLETE trial has the same " + out.objective;
    return out;
  }

  ForestOptions forest_options;
  forest_options.trees = options.trees;
  forest_options.seed = options.seed;
  const RandomForest forest(x, y, forest_options);

  // Per tree: its out-of-bag predictions and, for each parameter, how much its out-of-bag squared
  // error grows when that parameter's column is shuffled. Trees run in parallel; sums are taken in
  // tree order so the result does not depend on the threads.
  struct TreeScore {
    bool used = false;
    std::vector<double> increase;
    std::vector<std::pair<std::size_t, double>> predictions;
  };
  std::vector<TreeScore> scores(forest.tree_count());
  tbb::parallel_for(std::size_t{0}, forest.tree_count(), [&](std::size_t t) {
    const auto& oob = forest.out_of_bag(t);
    if (oob.size() < 2) return;
    TreeScore& score = scores[t];
    score.used = true;
    double base = 0;
    for (const std::size_t r : oob) {
      const double p = forest.predict(t, x[r]);
      score.predictions.emplace_back(r, p);
      base += (p - y[r]) * (p - y[r]);
    }
    Rng rng(derive_seed(options.seed, t, 0x5eed));
    std::vector<double> row, column;
    for (std::size_t f = 0; f < specs.size(); ++f) {
      column.clear();
      for (const std::size_t r : oob) column.push_back(x[r][f]);
      for (std::size_t i = column.size() - 1; i > 0; --i)
        std::swap(column[i], column[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(i)))]);
      double permuted = 0;
      for (std::size_t i = 0; i < oob.size(); ++i) {
        row = x[oob[i]];
        row[f] = column[i];
        const double p = forest.predict(t, row);
        permuted += (p - y[oob[i]]) * (p - y[oob[i]]);
      }
      score.increase.push_back((permuted - base) / static_cast<double>(oob.size()));
    }
  });
  std::vector<double> increase(specs.size(), 0.0);
  std::vector<double> oob_sum(y.size(), 0.0);
  std::vector<int> oob_count(y.size(), 0);
  int trees_used = 0;
  for (const TreeScore& score : scores) {
    if (!score.used) continue;
    ++trees_used;
    for (std::size_t f = 0; f < specs.size(); ++f) increase[f] += score.increase[f];
    for (const auto& [r, p] : score.predictions) {
      oob_sum[r] += p;
      ++oob_count[r];
    }
  }
  if (trees_used == 0) {
    out.note = "too few trials for out-of-bag estimates";
    return out;
  }

  double residual = 0, covered = 0;
  for (std::size_t r = 0; r < y.size(); ++r) {
    if (oob_count[r] == 0) continue;
    const double p = oob_sum[r] / oob_count[r];
    residual += (p - y[r]) * (p - y[r]);
    covered += (y[r] - mean) * (y[r] - mean);
  }
  out.surrogate_r2 = covered > 0 ? 1.0 - residual / covered : 0.0;

  double positive = 0;
  for (auto& v : increase) {
    v /= trees_used;
    positive += std::max(v, 0.0);
  }
  for (std::size_t f = 0; f < specs.size(); ++f)
    out.params.push_back({specs[f]->name, positive > 0 ? std::max(increase[f], 0.0) / positive : 0.0, increase[f]});
  std::stable_sort(out.params.begin(), out.params.end(),
                   [](const ParamImportance& a, const ParamImportance& b) { return a.share > b.share; });
  return out;
}

}  // namespace lepton::engine
