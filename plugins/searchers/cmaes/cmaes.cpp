// CMA-ES (Hansen's tutorial, 2016) with IPOP restarts (Auger and Hansen 2005) on the numeric
// parameters in the unit cube; categorical parameters follow independent categorical
// distributions that move toward the choices of each generation's best trials. The evolution's
// state (mean, step size, covariance, paths, the current generation's samples) is what the
// engine persists, so a resumed study proposes exactly what an uninterrupted one would.
#include <lepton/lepton.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace {

using lepton::json;
using Vector = std::vector<double>;

struct Options {
  std::optional<int> popsize;  // default 4 + floor(3 ln d)
  double sigma0 = 1.0 / 6;  // a sixth of each range, as Optuna starts
  int restarts = 9;
  double popsize_factor = 2.0;
  double tol_fun = 1e-12;
  double tol_x = 1e-11;
  double categorical_rate = 0.3;
};

Options read_options(const json& options) {
  lepton::ConfigObject cfg(options, "search.options");
  Options o;
  if (cfg.has("popsize")) o.popsize = static_cast<int>(cfg.integer_in("popsize", 2, 100'000, std::nullopt));
  o.sigma0 = cfg.number_in("sigma0", 1e-6, 1.0, 1.0 / 6);
  o.restarts = static_cast<int>(cfg.integer_in("restarts", 0, 1000, 9));
  o.popsize_factor = cfg.number_in("popsize_factor", 1.0, 10.0, 2.0);
  o.tol_fun = cfg.number_in("tol_fun", 0.0, 1e6, 1e-12);
  o.tol_x = cfg.number_in("tol_x", 0.0, 1.0, 1e-11);
  o.categorical_rate = cfg.number_in("categorical_rate", 0.0, 1.0, 0.3);
  cfg.finish();
  return o;
}

// Eigen-decomposition of a symmetric matrix (row-major n x n) by cyclic Jacobi rotations:
// a = v diag(w) v^T, eigenvectors in the columns of v. Exact enough and tiny for CMA-ES sizes.
void symmetric_eigen(Vector a, std::size_t n, Vector& w, Vector& v) {
  v.assign(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) v[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, total = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) (i == j ? total : off) += a[i * n + j] * a[i * n + j];
    if (off <= 1e-30 * (total + off) || off == 0.0) break;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) {
        const double apq = a[p * n + q];
        if (apq == 0.0) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (std::size_t k = 0; k < n; ++k) {  // a <- J^T a J
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < n; ++k) {
          const double vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  w.resize(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = a[i * n + i];
}

// One proposal of the current generation: its trial and what was sampled for it.
struct Sample {
  int trial = 0;
  Vector x;                 // numeric dimensions, in [0, 1]
  std::vector<int> choice;  // one per categorical parameter
};

class CmaesSearcher final : public lepton::Searcher {
 public:
  CmaesSearcher(const lepton::SearcherSetup& setup, Options options)
      : encoder_(setup.space), direction_(setup.directions.at(0)), options_(options), seed_(setup.seed) {
    for (std::size_t d = 0; d < encoder_.size(); ++d) {
      const auto& spec = encoder_.space().params()[encoder_.dimensions()[d].param];
      (spec.numeric() ? numeric_ : categorical_).push_back(d);
    }
    n_ = numeric_.size();
    base_popsize_ = options_.popsize.value_or(4 + static_cast<int>(std::floor(3.0 * std::log(std::max<std::size_t>(n_, 1)))));
    start(0, Vector(n_, 0.5));
    if (setup.state.is_object()) restore(setup.state);
  }

  lepton::Params suggest(const lepton::SearchContext& context) override {
    const auto& trials = context.history();
    while (tell(trials)) {
    }
    lepton::Rng rng(context.seed);
    Sample s;
    s.trial = context.trial_number;
    s.x = sample_numeric(rng);
    for (const auto& p : probabilities_) {
      double u = lepton::uniform01(rng);
      std::size_t c = 0;
      while (c + 1 < p.size() && u >= p[c]) u -= p[c++];
      s.choice.push_back(static_cast<int>(c));
    }
    Vector full(encoder_.size(), 0.5);
    for (std::size_t i = 0; i < n_; ++i) full[numeric_[i]] = s.x[i];
    for (std::size_t j = 0; j < categorical_.size(); ++j) {
      const auto& spec = encoder_.space().params()[encoder_.dimensions()[categorical_[j]].param];
      full[categorical_[j]] = (s.choice[j] + 0.5) / static_cast<double>(spec.choices.size());
    }
    pending_.push_back(std::move(s));
    return encoder_.decode(full);
  }

  json state() const override {
    json pending = json::array();
    for (const auto& s : pending_) pending.push_back({{"trial", s.trial}, {"x", s.x}, {"choice", s.choice}});
    return {{"restart", restart_},       {"popsize", popsize_},      {"generation", generation_},
            {"mean", mean_},             {"sigma", sigma_},          {"cov", cov_},
            {"pc", pc_},                 {"ps", ps_},                {"categorical", probabilities_},
            {"best_history", best_history_}, {"pending", pending}};
  }

 private:
  // (Re)starts the evolution: restart r has popsize base * factor^r, step size sigma0, C = I.
  void start(int restart, Vector mean) {
    restart_ = restart;
    popsize_ = std::max(2, static_cast<int>(std::lround(base_popsize_ * std::pow(options_.popsize_factor, restart))));
    generation_ = 0;
    mean_ = std::move(mean);
    sigma_ = options_.sigma0;
    cov_.assign(n_ * n_, 0.0);
    for (std::size_t i = 0; i < n_; ++i) cov_[i * n_ + i] = 1.0;
    pc_.assign(n_, 0.0);
    ps_.assign(n_, 0.0);
    probabilities_.clear();
    for (const std::size_t d : categorical_) {
      const auto count = encoder_.space().params()[encoder_.dimensions()[d].param].choices.size();
      probabilities_.emplace_back(count, 1.0 / static_cast<double>(count));
    }
    best_history_.clear();
    pending_.clear();
    decompose();
  }

  void restore(const json& s) {
    try {
      Vector mean = s.at("mean").get<Vector>(), cov = s.at("cov").get<Vector>();
      if (mean.size() != n_ || cov.size() != n_ * n_) return;  // another space: start afresh
      restart_ = s.at("restart").get<int>();
      popsize_ = s.at("popsize").get<int>();
      generation_ = s.at("generation").get<int>();
      mean_ = std::move(mean);
      cov_ = std::move(cov);
      sigma_ = s.at("sigma").get<double>();
      pc_ = s.at("pc").get<Vector>();
      ps_ = s.at("ps").get<Vector>();
      probabilities_ = s.at("categorical").get<std::vector<Vector>>();
      best_history_ = s.at("best_history").get<Vector>();
      pending_.clear();
      for (const auto& p : s.at("pending"))
        pending_.push_back({p.at("trial").get<int>(), p.at("x").get<Vector>(), p.at("choice").get<std::vector<int>>()});
      decompose();
    } catch (const json::exception&) {
      start(0, Vector(n_, 0.5));  // unreadable state (an older version): start afresh
    }
  }

  // C = B diag(D^2) B^T.
  void decompose() {
    if (n_ == 0) return;
    Vector w;
    symmetric_eigen(cov_, n_, w, basis_);
    scale_.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) scale_[i] = std::sqrt(std::max(w[i], 1e-300));
  }

  // x = m + sigma B D z, resampled (then clipped) until inside the unit cube.
  Vector sample_numeric(lepton::Rng& rng) const {
    Vector x(n_);
    for (int attempt = 0; attempt < 100; ++attempt) {
      Vector z(n_);
      for (auto& v : z) v = lepton::normal01(rng);
      bool inside = true;
      for (std::size_t i = 0; i < n_; ++i) {
        double y = 0;
        for (std::size_t j = 0; j < n_; ++j) y += basis_[i * n_ + j] * scale_[j] * z[j];
        x[i] = mean_[i] + sigma_ * y;
        inside = inside && x[i] >= 0.0 && x[i] <= 1.0;
      }
      if (inside) return x;
    }
    for (auto& v : x) v = std::clamp(v, 0.0, 1.0);
    return x;
  }

  // When `popsize` of the current generation's trials have finished, updates the distribution
  // (and restarts when the run has stalled). Returns true when a generation was closed.
  bool tell(const std::vector<lepton::TrialView>& trials) {
    struct Ranked {
      int tier;
      double a, b;
      std::size_t sample;
    };
    std::vector<Ranked> ranked;
    for (std::size_t i = 0; i < pending_.size() && ranked.size() < static_cast<std::size_t>(popsize_); ++i) {
      const auto it = std::lower_bound(trials.begin(), trials.end(), pending_[i].trial,
                                       [](const lepton::TrialView& t, int n) { return t.number < n; });
      if (it == trials.end() || it->number != pending_[i].trial) continue;
      if (it->state == lepton::TrialState::kComplete && !it->values.empty() && std::isfinite(it->values[0])) {
        ranked.push_back({0, loss(it->values[0]), 0.0, i});
      } else if (it->state == lepton::TrialState::kPruned) {  // stopped early for looking bad: ranked last
        const double step = it->intermediate.empty() ? 0.0 : it->intermediate.rbegin()->first;
        const double last = it->intermediate.empty() ? 0.0 : loss(it->intermediate.rbegin()->second);
        ranked.push_back({1, -step, std::isfinite(last) ? last : std::numeric_limits<double>::infinity(), i});
      }
    }
    if (ranked.size() < static_cast<std::size_t>(popsize_)) return false;
    std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& x, const Ranked& y) {
      return std::tie(x.tier, x.a, x.b) < std::tie(y.tier, y.a, y.b);
    });
    std::vector<const Sample*> order;
    for (const auto& r : ranked) order.push_back(&pending_[r.sample]);
    update(order);
    const double best = ranked.front().tier == 0 ? ranked.front().a : std::numeric_limits<double>::infinity();
    const double worst_kept = ranked[static_cast<std::size_t>(std::ceil(0.7 * popsize_)) - 1].a;
    std::vector<Sample> extra;  // trials proposed beyond popsize belong to the next generation
    for (std::size_t i = 0; i < pending_.size(); ++i)
      if (std::none_of(ranked.begin(), ranked.end(), [&](const Ranked& r) { return r.sample == i; })) extra.push_back(pending_[i]);
    pending_ = std::move(extra);
    ++generation_;
    if (ranked.front().tier == 0 && ranked[static_cast<std::size_t>(std::ceil(0.7 * popsize_)) - 1].tier == 0 &&
        best == worst_kept && n_ > 0) {
      sigma_ *= std::exp(0.2 + cs_ / damps_);  // flat fitness: widen the search
    }
    best_history_.push_back(best);
    if (stalled() && restart_ < options_.restarts) {
      lepton::Rng rng(lepton::derive_seed(seed_, 0x636d61 /* "cma" */, static_cast<std::uint64_t>(restart_ + 1)));
      Vector mean(n_);
      for (auto& m : mean) m = lepton::uniform01(rng);
      start(restart_ + 1, std::move(mean));
    }
    return true;
  }

  double loss(double value) const { return direction_ == lepton::Direction::kMaximize ? -value : value; }

  // One generation's update with the whole ranked population (active CMA-ES: the worse half
  // gets negative recombination weights that shrink the covariance along bad directions).
  void update(const std::vector<const Sample*>& order) {
    const std::size_t lambda = order.size(), mu = lambda / 2;
    Vector w(lambda);
    for (std::size_t i = 0; i < lambda; ++i) w[i] = std::log((lambda + 1) / 2.0) - std::log(static_cast<double>(i + 1));
    double positive = 0, positive_sq = 0, negative = 0, negative_sq = 0;
    for (std::size_t i = 0; i < lambda; ++i) {
      (w[i] > 0 ? positive : negative) += w[i];
      (w[i] > 0 ? positive_sq : negative_sq) += w[i] * w[i];
    }
    const double mueff = positive * positive / positive_sq;
    const double mueff_minus = negative_sq > 0 ? negative * negative / negative_sq : 0.0;
    const Vector best_half(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(mu));
    Vector recombination(best_half);
    for (auto& v : recombination) v /= positive;
    update_categorical(order, recombination);
    if (n_ == 0) return;

    const double n = static_cast<double>(n_);
    cs_ = (mueff + 2.0) / (n + mueff + 5.0);
    damps_ = 1.0 + 2.0 * std::max(0.0, std::sqrt((mueff - 1.0) / (n + 1.0)) - 1.0) + cs_;
    const double cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n);
    const double c1 = 2.0 / ((n + 1.3) * (n + 1.3) + mueff);
    const double cmu = std::min(1.0 - c1, 2.0 * (mueff - 2.0 + 1.0 / mueff) / ((n + 2.0) * (n + 2.0) + mueff));
    const double chi_n = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
    // Negative weights, scaled as in Hansen's tutorial (2016) so that C stays positive definite.
    const double scale_minus = std::min({1.0 + c1 / cmu, 1.0 + 2.0 * mueff_minus / (mueff + 2.0),
                                         (1.0 - c1 - cmu) / (n * cmu)});
    for (auto& v : w) v = v > 0 ? v / positive : scale_minus * v / -negative;
    const double weight_sum = std::accumulate(w.begin(), w.end(), 0.0);

    std::vector<Vector> y(lambda, Vector(n_));
    Vector yw(n_, 0.0);
    for (std::size_t i = 0; i < lambda; ++i)
      for (std::size_t k = 0; k < n_; ++k) {
        y[i][k] = (order[i]->x[k] - mean_[k]) / sigma_;
        if (i < mu) yw[k] += w[i] * y[i][k];
      }
    for (std::size_t k = 0; k < n_; ++k) mean_[k] += sigma_ * yw[k];

    const Vector inv_sqrt_yw = inverse_sqrt_times(yw);
    double ps_norm = 0;
    for (std::size_t k = 0; k < n_; ++k) {
      ps_[k] = (1.0 - cs_) * ps_[k] + std::sqrt(cs_ * (2.0 - cs_) * mueff) * inv_sqrt_yw[k];
      ps_norm += ps_[k] * ps_[k];
    }
    ps_norm = std::sqrt(ps_norm);
    const double hsig_threshold = (1.4 + 2.0 / (n + 1.0)) * chi_n;
    const bool hsig = ps_norm / std::sqrt(1.0 - std::pow(1.0 - cs_, 2.0 * (generation_ + 1))) < hsig_threshold;
    for (std::size_t k = 0; k < n_; ++k)
      pc_[k] = (1.0 - cc) * pc_[k] + (hsig ? std::sqrt(cc * (2.0 - cc) * mueff) : 0.0) * yw[k];
    // A negative weight applies to y rescaled to the length it would have under C = I.
    Vector w_cov(w);
    for (std::size_t i = mu; i < lambda; ++i) {
      if (w[i] >= 0) continue;
      const Vector z = inverse_sqrt_times(y[i]);
      double norm_sq = 0;
      for (const double v : z) norm_sq += v * v;
      w_cov[i] = w[i] * n / std::max(norm_sq, 1e-300);
    }
    const double keep = 1.0 + (hsig ? 0.0 : c1 * cc * (2.0 - cc)) - c1 - cmu * weight_sum;
    for (std::size_t a = 0; a < n_; ++a)
      for (std::size_t b = 0; b < n_; ++b) {
        double rank_mu = 0;
        for (std::size_t i = 0; i < lambda; ++i) rank_mu += w_cov[i] * y[i][a] * y[i][b];
        cov_[a * n_ + b] = keep * cov_[a * n_ + b] + c1 * pc_[a] * pc_[b] + cmu * rank_mu;
      }
    sigma_ *= std::exp(std::min(1.0, (cs_ / damps_) * (ps_norm / chi_n - 1.0)));
    sigma_ = std::min(sigma_, 5.0);  // the unit cube is the whole space
    decompose();
  }

  // C^(-1/2) v = B D^-1 B^T v.
  Vector inverse_sqrt_times(const Vector& v) const {
    Vector t(n_, 0.0), out(n_, 0.0);
    for (std::size_t j = 0; j < n_; ++j) {
      for (std::size_t k = 0; k < n_; ++k) t[j] += basis_[k * n_ + j] * v[k];
      t[j] /= scale_[j];
    }
    for (std::size_t k = 0; k < n_; ++k)
      for (std::size_t j = 0; j < n_; ++j) out[k] += basis_[k * n_ + j] * t[j];
    return out;
  }

  // Each categorical's probabilities move toward the weighted choices of the best half, keeping
  // every choice at least 10% of uniform so that none is ruled out for good.
  void update_categorical(const std::vector<const Sample*>& order, const Vector& w) {
    for (std::size_t j = 0; j < probabilities_.size(); ++j) {
      auto& p = probabilities_[j];
      Vector freq(p.size(), 0.0);
      for (std::size_t i = 0; i < w.size(); ++i) freq[static_cast<std::size_t>(order[i]->choice[j])] += w[i];
      const double floor = 0.1 / static_cast<double>(p.size());
      double total = 0;
      for (std::size_t c = 0; c < p.size(); ++c) {
        p[c] = std::max(floor, (1.0 - options_.categorical_rate) * p[c] + options_.categorical_rate * freq[c]);
        total += p[c];
      }
      for (auto& v : p) v /= total;
    }
  }

  // Hansen's stopping rules, any of which triggers an IPOP restart: the best values have stopped
  // changing (TolHistFun), the steps have become negligible (TolX), or C is ill-conditioned.
  bool stalled() const {
    if (n_ == 0) return false;
    const auto window = static_cast<std::size_t>(10 + std::ceil(30.0 * static_cast<double>(n_) / popsize_));
    if (best_history_.size() >= window) {
      const auto first = best_history_.end() - static_cast<std::ptrdiff_t>(window);
      const auto [lo, hi] = std::minmax_element(first, best_history_.end());
      if (std::isfinite(*lo) && std::isfinite(*hi) && *hi - *lo <= options_.tol_fun) return true;
    }
    double largest = 0, smallest = std::numeric_limits<double>::infinity(), max_std = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      largest = std::max(largest, scale_[i]);
      smallest = std::min(smallest, scale_[i]);
      max_std = std::max(max_std, std::sqrt(cov_[i * n_ + i]));
    }
    if (sigma_ * max_std < options_.tol_x) return true;
    return largest * largest > 1e14 * smallest * smallest;
  }

  lepton::SpaceEncoder encoder_;
  lepton::Direction direction_;
  Options options_;
  std::uint64_t seed_;
  std::vector<std::size_t> numeric_, categorical_;  // encoder dimensions
  std::size_t n_ = 0;
  int base_popsize_ = 4;

  int restart_ = 0, popsize_ = 4, generation_ = 0;
  Vector mean_, cov_, pc_, ps_, best_history_;
  double sigma_ = 0.2;
  std::vector<Vector> probabilities_;
  std::vector<Sample> pending_;
  Vector basis_, scale_;
  double cs_ = 0.3, damps_ = 1.0;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    Options options = read_options(setup.options);
    if (setup.directions.size() != 1)
      throw lepton::ConfigError("task.objective", "cmaes optimizes one objective; use nsga2 (or tpe) for " +
                                                      std::to_string(setup.directions.size()) + " objectives");
    return std::make_unique<CmaesSearcher>(setup, options);
  });
}
