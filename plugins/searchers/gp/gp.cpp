// Gaussian-process Bayesian optimization: a Latin hypercube to start, then each proposal fits a
// Matern-5/2 ARD process to the finished trials (numbers on the unit scale, categoricals one-hot)
// and maximizes log expected improvement. The fitted hyperparameters are the state the engine
// persists: refits start from them, so a resumed study proposes what an uninterrupted one would.
#include "acquisition.hpp"
#include "gaussian_process.hpp"

#include <lepton/lepton.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace {

using lepton::json;
using lepton::gp::Hyperparameters;

// Work per proposal, in multiply-adds against the training points: scoring a candidate costs
// about n^2 for n points, so past a few dozen points fewer candidates and steps fit the budget,
// which keeps a proposal at a few milliseconds whatever the history.
constexpr double kScreenBudget = 2e6;
constexpr double kLocalBudget = 1e6;

struct Options {
  int startup_trials = 10;
  int max_points = 128;
  int candidates = 2000;
  int local_starts = 5;
  bool constant_liar = true;
};

Options read_options(const json& options) {
  lepton::ConfigObject cfg(options, "search.options");
  Options o;
  o.startup_trials = static_cast<int>(cfg.integer_in("n_startup_trials", 1, 1'000'000, 10));
  o.max_points = static_cast<int>(cfg.integer_in("max_points", 4, 5'000, 128));
  o.candidates = static_cast<int>(cfg.integer_in("n_candidates", 1, 1'000'000, 2000));
  o.local_starts = static_cast<int>(cfg.integer_in("n_local_starts", 0, 1'000, 5));
  o.constant_liar = cfg.optional<bool>("constant_liar", true);
  cfg.finish();
  return o;
}

// The process's outputs: the losses standardized, or log-scaled first (a heavy right tail of
// terrible trials would otherwise flatten everything near the optimum). `log_jacobian` puts the
// evidence of both on the scale of the original losses, so they can be compared.
enum Warp { kStandard = 0, kLog = 1 };

struct Outputs {
  std::vector<double> z;
  double log_jacobian = 0;
};

Outputs warp_outputs(const std::vector<double>& y, Warp warp) {
  Outputs out;
  out.z = y;
  if (warp == kLog) {
    std::vector<double> sorted(y);
    std::sort(sorted.begin(), sorted.end());
    const double low = sorted.front(), median = sorted[sorted.size() / 2];
    const double shift = std::max({0.01 * (median - low), 1e-3 * (sorted.back() - low), 1e-12});
    for (auto& v : out.z) {
      v = std::log(v - low + shift);
      out.log_jacobian -= v;
    }
  }
  const double n = static_cast<double>(y.size());
  const double mean = std::accumulate(out.z.begin(), out.z.end(), 0.0) / n;
  double var = 0;
  for (const double v : out.z) var += (v - mean) * (v - mean);
  const double sd = var > 0 ? std::sqrt(var / n) : 1.0;
  for (auto& v : out.z) v = (v - mean) / sd;
  out.log_jacobian -= n * std::log(sd);
  return out;
}

class GpSearcher final : public lepton::Searcher {
 public:
  GpSearcher(const lepton::SearcherSetup& setup, Options options)
      : encoder_(setup.space, lepton::CategoricalEncoding::kOneHot),
        startup_encoder_(setup.space),
        direction_(setup.directions.at(0)),
        options_(options) {
    for (const auto& d : encoder_.dimensions()) layout_.continuous.push_back(encoder_.space().params()[d.param].numeric());
    for (std::size_t p = 0; p < encoder_.space().size(); ++p) {
      const auto [first, count] = encoder_.span(p);
      if (encoder_.space().params()[p].type == lepton::ParamType::kCategorical) layout_.one_hot.emplace_back(first, count);
    }
    // The Latin hypercube of the first trials: one shuffled stratum order per dimension.
    lepton::Rng rng(lepton::derive_seed(setup.seed, 0x6c6873 /* "lhs" */));
    strata_.resize(startup_encoder_.size());
    for (auto& order : strata_) {
      order.resize(static_cast<std::size_t>(options_.startup_trials));
      std::iota(order.begin(), order.end(), 0);
      for (std::size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[static_cast<std::size_t>(lepton::uniform_int(rng, 0, static_cast<std::int64_t>(i) - 1))]);
    }
    restore(setup.state);
  }

  lepton::Params suggest(const lepton::SearchContext& context) override {
    const auto& trials = context.history();
    lepton::Rng rng(context.seed);
    std::vector<std::size_t> complete, running;
    for (std::size_t i = 0; i < trials.size(); ++i) {
      const auto& t = trials[i];
      if (t.state == lepton::TrialState::kComplete && !t.values.empty() && std::isfinite(t.values[0])) {
        complete.push_back(i);
      } else if (t.state == lepton::TrialState::kRunning && options_.constant_liar) {
        running.push_back(i);
      }
    }
    if (complete.size() < static_cast<std::size_t>(options_.startup_trials) || encoder_.size() == 0)
      return latin_hypercube(context.trial_number, rng);
    rows_.update(encoder_, trials);
    torch::NoGradGuard no_grad;

    const std::vector<std::size_t> used = training_set(trials, complete);
    std::vector<double> losses;
    for (const std::size_t i : used) losses.push_back(lepton::to_minimization({trials[i].values[0]}, {direction_})[0]);
    const auto x = inputs(used);
    if (!hyper_[warp_] || static_cast<int>(complete.size()) - fitted_at_ >= std::max(1, fitted_at_ / 40))
      refit(x, losses, static_cast<int>(complete.size()));
    const Outputs outputs = warp_outputs(losses, warp_);
    const auto y = torch::tensor(outputs.z, torch::kFloat64);

    // Running trials join as observations at the mean (a constant liar), so parallel workers
    // spread out instead of all proposing the same point.
    auto train_x = x, train_y = y;
    if (!running.empty()) {
      train_x = torch::cat({x, inputs(running)});
      train_y = torch::cat({y, torch::zeros({static_cast<std::int64_t>(running.size())}, torch::kFloat64)});
    }
    const lepton::gp::Posterior posterior(train_x, train_y, *hyper_[warp_]);
    std::vector<std::vector<double>> incumbents;
    for (std::size_t j = 0; j < used.size() && j < 5; ++j) incumbents.push_back(filled_row(used[j]));
    const auto canonical = [&](const std::vector<double>& v) { return encoder_.encode(encoder_.decode(v)); };
    const auto n = static_cast<double>(train_x.size(0));
    lepton::gp::Effort effort;
    effort.random_candidates = std::clamp(static_cast<int>(kScreenBudget / (n * n)), std::min(128, options_.candidates),
                                          options_.candidates);
    effort.local_starts = options_.local_starts;
    effort.local_steps = std::clamp(static_cast<int>(kLocalBudget / (n * n * std::max(1, options_.local_starts))), 10, 40);
    const double best = *std::min_element(outputs.z.begin(), outputs.z.end());
    return encoder_.decode(lepton::gp::maximize_log_ei(posterior, best, layout_, canonical, incumbents, effort, rng));
  }

  json state() const override {
    if (!hyper_[warp_]) return nullptr;
    json out = {{"warp", warp_ == kLog ? "log" : "standard"}, {"fitted_at", fitted_at_}};
    if (hyper_[kStandard]) out["hyperparameters"] = hyper_[kStandard]->flat();
    if (hyper_[kLog]) out["log_hyperparameters"] = hyper_[kLog]->flat();
    return out;
  }

 private:
  void restore(const json& state) {
    if (!state.is_object()) return;
    auto read = [&](const char* key) -> std::optional<Hyperparameters> {
      if (!state.contains(key)) return std::nullopt;
      const auto flat = state.at(key).get<std::vector<double>>();
      if (flat.size() != encoder_.size() + 2) return std::nullopt;  // another space: fit afresh
      return Hyperparameters::from_flat(flat);
    };
    hyper_[kStandard] = read("hyperparameters");
    hyper_[kLog] = read("log_hyperparameters");
    warp_ = state.value("warp", "standard") == "log" ? kLog : kStandard;
    fitted_at_ = state.value("fitted_at", 0);
  }

  // Every complete trial up to max_points; past that the best half of them and the most recent
  // ones (a local model of the promising region that still knows the latest). Best first.
  std::vector<std::size_t> training_set(const std::vector<lepton::TrialView>& trials,
                                        const std::vector<std::size_t>& complete) const {
    std::vector<double> loss(trials.size(), 0.0);
    for (const std::size_t i : complete) loss[i] = lepton::to_minimization({trials[i].values[0]}, {direction_})[0];
    std::vector<std::size_t> used = complete;
    std::stable_sort(used.begin(), used.end(), [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
    const auto cap = static_cast<std::size_t>(options_.max_points);
    if (used.size() <= cap) return used;
    std::vector<std::size_t> keep(used.begin(), used.begin() + static_cast<std::ptrdiff_t>(cap / 2));
    std::vector<std::size_t> rest(used.begin() + static_cast<std::ptrdiff_t>(cap / 2), used.end());
    std::sort(rest.begin(), rest.end(), std::greater<>());
    rest.resize(cap - cap / 2);
    std::sort(rest.begin(), rest.end(), [&](std::size_t a, std::size_t b) { return loss[a] < loss[b]; });
    keep.insert(keep.end(), rest.begin(), rest.end());
    return keep;
  }

  // Fits both output warps (each from its last fit) and keeps the one with the larger evidence.
  void refit(const at::Tensor& x, const std::vector<double>& losses, int complete) {
    torch::AutoGradMode grad(true);
    double best = -std::numeric_limits<double>::infinity();
    for (const Warp w : {kStandard, kLog}) {
      const Outputs outputs = warp_outputs(losses, w);
      const auto y = torch::tensor(outputs.z, torch::kFloat64);
      const auto start = hyper_[w].value_or(Hyperparameters::initial(encoder_.size()));
      hyper_[w] = lepton::gp::fit(x, y, start, hyper_[w] ? 30 : 100);
      const double evidence = lepton::gp::log_marginal_likelihood(x, y, *hyper_[w]) + outputs.log_jacobian;
      if (evidence > best) {
        best = evidence;
        warp_ = w;
      }
    }
    fitted_at_ = complete;
  }

  lepton::Params latin_hypercube(int trial_number, lepton::Rng& rng) const {
    const auto row = static_cast<std::size_t>(trial_number % options_.startup_trials);
    std::vector<double> u(startup_encoder_.size());
    for (std::size_t d = 0; d < u.size(); ++d)
      u[d] = (strata_[d][row] + lepton::uniform01(rng)) / static_cast<double>(options_.startup_trials);
    return startup_encoder_.decode(u);
  }

  std::vector<double> filled_row(std::size_t i) const {
    std::vector<double> v(rows_.row(i), rows_.row(i) + encoder_.size());
    lepton::gp::fill_inactive(v, layout_);
    return v;
  }

  at::Tensor inputs(const std::vector<std::size_t>& trials) const {
    std::vector<double> flat;
    flat.reserve(trials.size() * encoder_.size());
    for (const std::size_t i : trials) {
      const auto v = filled_row(i);
      flat.insert(flat.end(), v.begin(), v.end());
    }
    return torch::tensor(flat, torch::kFloat64)
        .reshape({static_cast<std::int64_t>(trials.size()), static_cast<std::int64_t>(encoder_.size())});
  }

  lepton::SpaceEncoder encoder_, startup_encoder_;
  lepton::Direction direction_;
  Options options_;
  lepton::gp::Layout layout_;
  std::vector<std::vector<int>> strata_;
  lepton::EncodedTrials rows_;
  std::array<std::optional<Hyperparameters>, 2> hyper_;
  Warp warp_ = kStandard;
  int fitted_at_ = 0;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    Options options = read_options(setup.options);
    if (setup.directions.size() != 1)
      throw lepton::ConfigError("task.objective", "gp optimizes one objective; use nsga2 (or tpe) for " +
                                                      std::to_string(setup.directions.size()) + " objectives");
    return std::make_unique<GpSearcher>(setup, options);
  });
}
