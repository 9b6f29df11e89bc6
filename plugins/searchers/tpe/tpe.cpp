// Tree-structured Parzen Estimator (Bergstra et al. 2011, with Optuna's defaults) for mixed and
// conditional spaces: finished trials split into good and bad, each side becomes a Parzen mixture,
// and of candidates drawn from the good mixture the one with the best good/bad density ratio wins.
// A pure function of the history and the trial's seed, so studies resume and replay exactly.
#include "parzen.hpp"

#include <lepton/lepton.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <tuple>

namespace {

using lepton::json;

struct Options {
  int startup_trials = 10;
  int candidates = 24;
  double gamma = 0.1;
  int max_good = 25;
  double prior_weight = 1.0;
  bool multivariate = false;
  bool constant_liar = true;
};

Options read_options(const json& options) {
  lepton::ConfigObject cfg(options, "search.options");
  Options o;
  o.startup_trials = static_cast<int>(cfg.integer_in("n_startup_trials", 0, 1'000'000, 10));
  o.candidates = static_cast<int>(cfg.integer_in("n_ei_candidates", 1, 100'000, 24));
  o.gamma = cfg.number_in("gamma", 1e-6, 1.0, 0.1);
  o.max_good = static_cast<int>(cfg.integer_in("max_good", 1, 1'000'000, 25));
  o.prior_weight = cfg.number_in("prior_weight", 1e-6, 1e6, 1.0);
  o.multivariate = cfg.optional<bool>("multivariate", false);
  o.constant_liar = cfg.optional<bool>("constant_liar", true);
  cfg.finish();
  return o;
}

// Parameters sampled together: one each (univariate) or all with the same conditions (multivariate).
struct Group {
  std::vector<std::size_t> params;  // indices into space.params()
  std::vector<std::size_t> dims;    // their encoder dimensions
};

class TpeSearcher final : public lepton::Searcher {
 public:
  TpeSearcher(const lepton::SearcherSetup& setup, Options options)
      : encoder_(setup.space), directions_(setup.directions), options_(options) {
    const auto& params = encoder_.space().params();
    std::map<std::map<std::string, std::vector<json>>, std::size_t> by_condition;
    group_of_.assign(params.size(), kNone);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto [first, count] = encoder_.span(i);
      if (count == 0) continue;
      std::size_t g = groups_.size();
      if (options_.multivariate) {
        const auto found = by_condition.emplace(params[i].when, groups_.size()).first;
        g = found->second;
      }
      if (g == groups_.size()) groups_.emplace_back();
      groups_[g].params.push_back(i);
      for (std::size_t d = first; d < first + count; ++d) groups_[g].dims.push_back(d);
      group_of_[i] = g;
    }
  }

  lepton::Params suggest(const lepton::SearchContext& context) override {
    const auto& trials = context.history();
    lepton::Rng rng(context.seed);
    const auto finished = std::count_if(trials.begin(), trials.end(), [](const lepton::TrialView& t) {
      return t.state == lepton::TrialState::kComplete || t.state == lepton::TrialState::kPruned;
    });
    if (finished < options_.startup_trials) return encoder_.space().sample(rng);
    rows_.update(encoder_, trials);
    update_sorted(trials);
    split(trials);

    const auto& params = encoder_.space().params();
    std::vector<double> x(encoder_.size(), std::numeric_limits<double>::quiet_NaN());
    std::vector<bool> sampled(groups_.size(), false);
    lepton::Params out = json::object();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto& spec = params[i];
      if (!encoder_.space().is_active(spec, out)) continue;
      if (group_of_[i] == kNone) {  // fixed
        out[spec.name] = spec.value;
        continue;
      }
      const std::size_t g = group_of_[i];
      if (!sampled[g]) {
        sample_group(groups_[g], x, rng);
        sampled[g] = true;
      }
      const auto [first, count] = encoder_.span(i);
      out[spec.name] = std::isnan(x[first]) ? lepton::SearchSpace::sample_value(spec, rng) : encoder_.decode_param(i, x);
    }
    return out;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  // Ranks the usable trials and marks the best as good: complete ones by value (Pareto fronts,
  // then crowding, for several objectives), then pruned ones (further first, then by their last
  // value), then running ones (the constant liar: as bad as it gets, so parallel workers spread
  // out). good_ and bad_ list trial indices in trial order.
  void split(const std::vector<lepton::TrialView>& trials) {
    good_.clear();
    bad_.clear();
    using Key = std::tuple<int, double, double, std::size_t>;
    std::vector<Key> keys;
    std::vector<std::size_t> complete;
    std::vector<std::vector<double>> losses;
    const std::size_t objectives = directions_.size();
    for (std::size_t i = 0; i < trials.size(); ++i) {
      const auto& t = trials[i];
      if (t.state == lepton::TrialState::kComplete && t.values.size() >= objectives &&
          std::all_of(t.values.begin(), t.values.begin() + static_cast<std::ptrdiff_t>(objectives),
                      [](double v) { return std::isfinite(v); })) {
        complete.push_back(i);
        losses.push_back(lepton::to_minimization(
            std::vector<double>(t.values.begin(), t.values.begin() + static_cast<std::ptrdiff_t>(objectives)),
            directions_));
      } else if (t.state == lepton::TrialState::kPruned) {
        double last_step = 0, last = std::numeric_limits<double>::infinity();
        if (!t.intermediate.empty()) {
          last_step = t.intermediate.rbegin()->first;
          last = lepton::to_minimization({t.intermediate.rbegin()->second}, {directions_.front()})[0];
          if (!std::isfinite(last)) last = std::numeric_limits<double>::infinity();
        }
        keys.emplace_back(1, -last_step, last, i);
      } else if (t.state == lepton::TrialState::kRunning && options_.constant_liar) {
        keys.emplace_back(2, 0.0, 0.0, i);
      }
    }
    // Like Optuna, the number of good trials counts finished ones only, not the running liars.
    const auto finished = complete.size() + static_cast<std::size_t>(std::count_if(
                                                keys.begin(), keys.end(), [](const Key& k) { return std::get<0>(k) == 1; }));
    const auto wanted = std::min<std::size_t>(static_cast<std::size_t>(options_.max_good),
                                              static_cast<std::size_t>(std::ceil(options_.gamma * finished)));
    std::vector<char> is_good(trials.size(), 0);
    std::size_t taken = 0;
    if (objectives == 1) {
      for (std::size_t j = 0; j < complete.size(); ++j) keys.emplace_back(0, losses[j][0], 0.0, complete[j]);
    } else {
      for (const auto& front : lepton::non_dominated_fronts(losses, wanted)) {
        std::vector<std::size_t> members(front);
        if (taken + front.size() > wanted) {  // the last front: least crowded first
          const auto crowding = lepton::crowding_distance(losses, front);
          std::vector<std::size_t> order(front.size());
          std::iota(order.begin(), order.end(), std::size_t{0});
          std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return crowding[a] > crowding[b]; });
          members.clear();
          for (std::size_t j = 0; j < wanted - taken; ++j) members.push_back(front[order[j]]);
        }
        for (const std::size_t m : members) is_good[complete[m]] = 1;
        taken += members.size();
      }
    }
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      if (taken >= wanted || std::get<0>(key) == 2) break;
      is_good[std::get<3>(key)] = 1;
      ++taken;
    }
    std::vector<char> ranked(trials.size(), 0);
    for (const auto& key : keys) ranked[std::get<3>(key)] = 1;
    for (const std::size_t c : complete) ranked[c] = 1;
    for (std::size_t i = 0; i < trials.size(); ++i) {
      if (is_good[i]) {
        good_.push_back(i);
      } else if (ranked[i]) {
        bad_.push_back(i);
      }
    }
  }

  // Keeps, per numeric dimension, the trials that have a value there sorted by it: each new trial
  // is inserted once, so no proposal sorts thousands of values again.
  void update_sorted(const std::vector<lepton::TrialView>& trials) {
    std::size_t keep = 0;
    while (keep < sorted_numbers_.size() && keep < trials.size() && sorted_numbers_[keep] == trials[keep].number) ++keep;
    if (keep < sorted_numbers_.size()) {  // another history: start over
      sorted_numbers_.clear();
      sorted_.assign(encoder_.size(), {});
    }
    sorted_.resize(encoder_.size());
    for (std::size_t i = sorted_numbers_.size(); i < trials.size(); ++i) {
      sorted_numbers_.push_back(trials[i].number);
      const double* row = rows_.row(i);
      for (std::size_t d = 0; d < encoder_.size(); ++d) {
        if (std::isnan(row[d]) || !numeric_dim(d)) continue;
        auto& order = sorted_[d];
        const auto at = std::upper_bound(order.begin(), order.end(), row[d],
                                         [&](double v, std::uint32_t j) { return v < rows_.row(j)[d]; });
        order.insert(at, static_cast<std::uint32_t>(i));
      }
    }
  }

  lepton::tpe::DimensionKind kind(std::size_t d) const {
    const auto& info = encoder_.dimensions()[d];
    const auto& spec = encoder_.space().params()[info.param];
    lepton::tpe::DimensionKind k;
    if (!spec.numeric()) {
      k.choices = static_cast<int>(spec.choices.size());
    } else if (info.cardinality > 0 && spec.log) {
      k.min_width = 1.0 / static_cast<double>(info.cardinality);
    } else if (info.cardinality > 0) {
      k.cell = 1.0 / static_cast<double>(info.cardinality);
    }
    return k;
  }

  bool numeric_dim(std::size_t d) const {
    return encoder_.space().params()[encoder_.dimensions()[d].param].numeric();
  }

  // The Parzen density of one side (good or bad) over a group: the trials of that side where the
  // group is active, weighted by recency among them.
  std::unique_ptr<lepton::tpe::Density> density(const Group& group, const std::vector<std::size_t>& side) const {
    std::vector<std::size_t> members;
    for (const std::size_t i : side) {
      const double* row = rows_.row(i);
      if (std::none_of(group.dims.begin(), group.dims.end(), [&](std::size_t d) { return std::isnan(row[d]); }))
        members.push_back(i);
    }
    const auto weights = lepton::tpe::recency_weights(members.size());
    if (group.dims.size() == 1 && numeric_dim(group.dims[0])) {
      const std::size_t d = group.dims[0];
      weight_of_.assign(rows_.size(), -1.0);
      for (std::size_t r = 0; r < members.size(); ++r) weight_of_[members[r]] = weights[r];
      std::vector<double> values, sorted_weights;
      for (const std::uint32_t i : sorted_[d])
        if (weight_of_[i] >= 0) {
          values.push_back(rows_.row(i)[d]);
          sorted_weights.push_back(weight_of_[i]);
        }
      return lepton::tpe::univariate_numeric(values, sorted_weights, kind(d), options_.prior_weight);
    }
    std::vector<lepton::tpe::DimensionKind> kinds;
    for (const std::size_t d : group.dims) kinds.push_back(kind(d));
    if (group.dims.size() == 1) {
      std::vector<int> choices;
      for (const std::size_t i : members)
        choices.push_back(std::min(kinds[0].choices - 1, static_cast<int>(rows_.row(i)[group.dims[0]] * kinds[0].choices)));
      return lepton::tpe::univariate_categorical(choices, weights, kinds[0].choices, options_.prior_weight);
    }
    std::vector<std::vector<double>> values;
    for (const std::size_t i : members) {
      std::vector<double> v;
      for (const std::size_t d : group.dims) v.push_back(rows_.row(i)[d]);
      values.push_back(std::move(v));
    }
    return lepton::tpe::multivariate(values, weights, kinds, options_.prior_weight);
  }

  void sample_group(const Group& group, std::vector<double>& x, lepton::Rng& rng) const {
    const auto active = [&](std::size_t i) {
      const double* row = rows_.row(i);
      return std::none_of(group.dims.begin(), group.dims.end(), [&](std::size_t d) { return std::isnan(row[d]); });
    };
    if (std::none_of(good_.begin(), good_.end(), active) && std::none_of(bad_.begin(), bad_.end(), active))
      return;  // never observed: left NaN, drawn uniformly
    const auto l = density(group, good_), g = density(group, bad_);
    std::vector<double> best;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < options_.candidates; ++c) {
      std::vector<double> y = l->sample(rng);
      snap(group, y);
      const double score = l->log_pdf(y) - g->log_pdf(y);
      if (score > best_score || best.empty()) {
        best_score = score;
        best = std::move(y);
      }
    }
    for (std::size_t j = 0; j < group.dims.size(); ++j) x[group.dims[j]] = best[j];
  }

  // Discrete numeric candidates move to the centre of their value's cell, where both mixtures are
  // evaluated (a midpoint estimate of each value's probability).
  void snap(const Group& group, std::vector<double>& y) const {
    for (std::size_t j = 0; j < group.dims.size(); ++j) {
      const auto& info = encoder_.dimensions()[group.dims[j]];
      const auto& spec = encoder_.space().params()[info.param];
      if (spec.numeric() && info.cardinality > 0)
        y[j] = lepton::to_unit(spec, lepton::from_unit(spec, y[j]).get<double>());
    }
  }

  lepton::SpaceEncoder encoder_;
  std::vector<lepton::Direction> directions_;
  Options options_;
  std::vector<Group> groups_;
  std::vector<std::size_t> group_of_;
  lepton::EncodedTrials rows_;
  std::vector<std::size_t> good_, bad_;
  std::vector<int> sorted_numbers_;
  std::vector<std::vector<std::uint32_t>> sorted_;
  mutable std::vector<double> weight_of_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    return std::make_unique<TpeSearcher>(setup, read_options(setup.options));
  });
}
