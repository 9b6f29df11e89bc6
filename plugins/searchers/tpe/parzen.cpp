// Parzen mixtures for TPE. Univariate numeric densities keep their kernels sorted by mean and sum
// only those within reach of the point, which keeps a proposal fast at thousands of trials.
#include "parzen.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace lepton::tpe {

namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274;  // log(sqrt(2 pi))
constexpr double kInvSqrt2Pi = 0.39894228040143268;
// A kernel adds nothing measurable past 6 standard deviations (e^-18 of its peak), far below what
// the prior kernel alone contributes anywhere in [0, 1].
constexpr double kReach = 6.0;

// The mass of the standard normal in [a, b], from the nearer tail so that it stays accurate.
double normal_mass(double a, double b) {
  constexpr double kInvSqrt2 = 0.70710678118654752;
  if (a >= 0) return 0.5 * (std::erfc(a * kInvSqrt2) - std::erfc(b * kInvSqrt2));
  if (b <= 0) return 0.5 * (std::erfc(-b * kInvSqrt2) - std::erfc(-a * kInvSqrt2));
  return 1.0 - 0.5 * (std::erfc(-a * kInvSqrt2) + std::erfc(b * kInvSqrt2));
}

// The mass of N(mu, sigma) inside [0, 1], the interval every numeric dimension lives in.
double unit_mass(double mu, double sigma) {
  if (mu - kReach * sigma >= 0.0 && mu + kReach * sigma <= 1.0) return 1.0;
  return std::max(normal_mass(-mu / sigma, (1.0 - mu) / sigma), 1e-300);
}

double truncated_normal(Rng& rng, double mu, double sigma) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    const double x = mu + sigma * normal01(rng);
    if (x >= 0.0 && x <= 1.0) return x;
  }
  return std::clamp(mu, 0.0, 1.0);
}

// The observations' weights followed by the prior's, normalized to sum to one.
std::vector<double> mixture_weights(const std::vector<double>& weights, double prior_weight) {
  std::vector<double> w(weights);
  w.push_back(prior_weight);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  for (auto& v : w) v /= total;
  return w;
}

std::size_t pick(const std::vector<double>& cumulative, Rng& rng) {
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), uniform01(rng));
  return std::min(static_cast<std::size_t>(it - cumulative.begin()), cumulative.size() - 1);
}

std::vector<double> cumulative_of(const std::vector<double>& w) {
  std::vector<double> c(w.size());
  std::partial_sum(w.begin(), w.end(), c.begin());
  return c;
}

// Optuna's univariate bandwidths for means sorted increasingly: the larger gap to a neighbour (the
// interval ends count as neighbours except for the extreme kernels), clipped.
std::vector<double> gap_bandwidths(const std::vector<double>& mu, double floor) {
  const std::size_t k = mu.size();
  auto at = [&](std::ptrdiff_t i) -> double {
    if (i < 0) return 0.0;
    if (i >= static_cast<std::ptrdiff_t>(k)) return 1.0;
    return mu[static_cast<std::size_t>(i)];
  };
  std::vector<double> sigma(k);
  for (std::size_t s = 0; s < k; ++s) {
    const auto i = static_cast<std::ptrdiff_t>(s);
    double width = std::max(at(i) - at(i - 1), at(i + 1) - at(i));
    if (k >= 2 && s == 0) width = at(1) - at(0);
    if (k >= 2 && s + 1 == k) width = at(i) - at(i - 1);
    sigma[s] = std::clamp(width, std::min(floor, 1.0), 1.0);
  }
  return sigma;
}

double bandwidth_floor(std::size_t kernels, const DimensionKind& kind) {
  return std::max(1.0 / std::min(100.0, 1.0 + static_cast<double>(kernels)), kind.min_width);
}

class UnivariateNumeric final : public Density {
 public:
  UnivariateNumeric(const std::vector<double>& values, const std::vector<double>& weights, const DimensionKind& kind,
                    double prior_weight)
      : half_cell_(kind.cell / 2) {
    const std::vector<double> w = mixture_weights(weights, prior_weight);
    // The prior kernel N(0.5, 1) joins the sorted means where it belongs.
    const auto at = static_cast<std::size_t>(std::lower_bound(values.begin(), values.end(), 0.5) - values.begin());
    mu_.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at));
    mu_.push_back(0.5);
    mu_.insert(mu_.end(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
    weight_.assign(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(at));
    weight_.push_back(w.back());
    weight_.insert(weight_.end(), w.begin() + static_cast<std::ptrdiff_t>(at), w.end() - 1);
    const double floor = bandwidth_floor(mu_.size(), kind);
    sigma_ = gap_bandwidths(mu_, floor);
    sigma_[at] = 1.0;
    cumulative_ = cumulative_of(weight_);

    // Kernels at the bandwidth floor (most of them once there are many trials) are looked up
    // in a window of kReach floors; the few wider ones in a window of their own widest. Floor
    // kernels closer together than 1/16 of their width merge into one at their weighted mean:
    // the density changes by under 0.1% near them (second order in the spread), and late in a
    // study, when trials crowd around the optimum, that cuts most of the work.
    const double tight = floor * (1.0 + 1e-9);
    Kernel run{0, 0, 0};
    double run_first = 0, run_weight = 0, run_sum = 0;
    auto close_run = [&]() {
      if (run_weight <= 0) return;
      run.mu = run_sum / run_weight;
      tight_.push_back(run);
      run_weight = run_sum = run.coef = 0;
    };
    for (std::size_t i = 0; i < mu_.size(); ++i) {
      // coef: the weight over the kernel's mass in [0, 1], and over its width for densities
      const double coef = weight_[i] / unit_mass(mu_[i], sigma_[i]) * (half_cell_ > 0 ? 1.0 : kInvSqrt2Pi / sigma_[i]);
      const Kernel kernel{mu_[i], 1.0 / sigma_[i], coef};
      if (i == at) {
        prior_ = kernel;
      } else if (sigma_[i] <= tight) {
        if (run_weight > 0 && mu_[i] - run_first > floor / 16) close_run();
        if (run_weight == 0) {
          run_first = mu_[i];
          run.inv_sigma = kernel.inv_sigma;
        }
        run.coef += kernel.coef;
        run_weight += weight_[i];
        run_sum += weight_[i] * mu_[i];
      } else {
        loose_.push_back(kernel);
        loose_reach_ = std::max(loose_reach_, kReach * sigma_[i]);
      }
    }
    close_run();
    tight_reach_ = kReach * tight + half_cell_;
    loose_reach_ += half_cell_;
  }

  std::vector<double> sample(Rng& rng) const override {
    const std::size_t c = pick(cumulative_, rng);
    return {truncated_normal(rng, mu_[c], sigma_[c])};
  }

  double log_pdf(const std::vector<double>& y) const override {
    const double x = y[0];
    double density = term(prior_, x);
    sum_window(tight_, x, tight_reach_, density);
    sum_window(loose_, x, loose_reach_, density);
    return std::log(std::max(density, std::numeric_limits<double>::min()));
  }

 private:
  struct Kernel {
    double mu, inv_sigma, coef;
  };

  // A kernel's density at x, or its mass over x's cell on a grid.
  double term(const Kernel& k, double x) const {
    if (half_cell_ > 0) return k.coef * normal_mass((x - half_cell_ - k.mu) * k.inv_sigma, (x + half_cell_ - k.mu) * k.inv_sigma);
    const double z = (x - k.mu) * k.inv_sigma;
    return k.coef * std::exp(-0.5 * z * z);
  }

  // Four independent partial sums let the CPU overlap the exponentials' dependency chains.
  void sum_window(const std::vector<Kernel>& kernels, double x, double reach, double& density) const {
    const auto by_mu = [](const Kernel& k, double v) { return k.mu < v; };
    const auto first = std::lower_bound(kernels.begin(), kernels.end(), x - reach, by_mu);
    const auto last = std::lower_bound(first, kernels.end(), std::nextafter(x + reach, 2.0), by_mu);
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    auto it = first;
    for (; last - it >= 4; it += 4) {
      s0 += term(it[0], x);
      s1 += term(it[1], x);
      s2 += term(it[2], x);
      s3 += term(it[3], x);
    }
    for (; it != last; ++it) s0 += term(*it, x);
    density += (s0 + s1) + (s2 + s3);
  }

  double half_cell_;
  std::vector<double> mu_, sigma_, weight_, cumulative_;
  Kernel prior_{0.5, 1.0, 0.0};
  std::vector<Kernel> tight_, loose_;
  double tight_reach_ = 0, loose_reach_ = 0;
};

class UnivariateCategorical final : public Density {
 public:
  UnivariateCategorical(const std::vector<int>& choices, const std::vector<double>& weights, int count,
                        double prior_weight)
      : count_(count) {
    const std::vector<double> w = mixture_weights(weights, prior_weight);
    const double fill = prior_weight / static_cast<double>(choices.size() + 1);
    const double norm = 1.0 + fill * count;
    prob_.assign(static_cast<std::size_t>(count), w.back() / count);
    for (std::size_t i = 0; i < choices.size(); ++i) {
      for (auto& p : prob_) p += w[i] * fill / norm;
      prob_[static_cast<std::size_t>(choices[i])] += w[i] / norm;
    }
    cumulative_ = cumulative_of(prob_);
  }

  std::vector<double> sample(Rng& rng) const override {
    return {(static_cast<double>(pick(cumulative_, rng)) + 0.5) / count_};
  }

  double log_pdf(const std::vector<double>& y) const override {
    return std::log(prob_[static_cast<std::size_t>(std::min(count_ - 1, static_cast<int>(y[0] * count_)))]);
  }

 private:
  int count_;
  std::vector<double> prob_, cumulative_;
};

class Multivariate final : public Density {
 public:
  Multivariate(const std::vector<std::vector<double>>& rows, const std::vector<double>& weights,
               const std::vector<DimensionKind>& dims, double prior_weight) {
    const std::size_t n = rows.size(), k = n + 1;  // the last component is the prior
    weight_ = mixture_weights(weights, prior_weight);
    cumulative_ = cumulative_of(weight_);
    log_weight_.resize(k);
    for (std::size_t i = 0; i < k; ++i) log_weight_[i] = std::log(weight_[i]);
    const double scott = 0.2 * std::pow(static_cast<double>(std::max<std::size_t>(n, 1)),
                                        -1.0 / (static_cast<double>(dims.size()) + 4.0));
    for (std::size_t j = 0; j < dims.size(); ++j) {
      Dim dim;
      dim.choices = dims[j].choices;
      if (dim.choices > 0) {
        dim.index.resize(n);
        for (std::size_t i = 0; i < n; ++i) dim.index[i] = std::min(dim.choices - 1, static_cast<int>(rows[i][j] * dim.choices));
        const double fill = prior_weight / static_cast<double>(k);
        const double norm = 1.0 + fill * dim.choices;
        dim.log_same = std::log((1.0 + fill) / norm);
        dim.log_other = std::log(fill / norm);
        dim.stay = 1.0 / norm;
      } else {
        const double sigma = std::clamp(scott, std::min(bandwidth_floor(k, dims[j]), 1.0), 1.0);
        dim.half_cell = dims[j].cell / 2;
        dim.mu.resize(k);
        dim.sigma.assign(k, sigma);
        for (std::size_t i = 0; i < n; ++i) dim.mu[i] = rows[i][j];
        dim.mu[n] = 0.5;
        dim.sigma[n] = 1.0;
        dim.log_norm.resize(k);
        for (std::size_t i = 0; i < k; ++i)
          dim.log_norm[i] = std::log(unit_mass(dim.mu[i], dim.sigma[i])) +
                            (dim.half_cell > 0 ? 0.0 : std::log(dim.sigma[i]) + kLogSqrt2Pi);
      }
      dims_.push_back(std::move(dim));
    }
  }

  std::vector<double> sample(Rng& rng) const override {
    const std::size_t c = pick(cumulative_, rng);
    const bool prior = c + 1 == cumulative_.size();
    std::vector<double> y(dims_.size());
    for (std::size_t j = 0; j < dims_.size(); ++j) {
      const Dim& dim = dims_[j];
      if (dim.choices > 0) {
        const bool stay = !prior && uniform01(rng) < dim.stay;  // else uniform over all choices
        const int choice = stay ? dim.index[c] : static_cast<int>(uniform_int(rng, 0, dim.choices - 1));
        y[j] = (choice + 0.5) / dim.choices;
      } else {
        y[j] = truncated_normal(rng, dim.mu[c], dim.sigma[c]);
      }
    }
    return y;
  }

  double log_pdf(const std::vector<double>& y) const override {
    std::vector<double> lp(log_weight_);
    const std::size_t prior = lp.size() - 1;
    for (std::size_t j = 0; j < dims_.size(); ++j) {
      const Dim& dim = dims_[j];
      if (dim.choices > 0) {
        const int choice = std::min(dim.choices - 1, static_cast<int>(y[j] * dim.choices));
        for (std::size_t i = 0; i < prior; ++i) lp[i] += dim.index[i] == choice ? dim.log_same : dim.log_other;
        lp[prior] -= std::log(static_cast<double>(dim.choices));
      } else {
        for (std::size_t i = 0; i < lp.size(); ++i) {
          if (dim.half_cell > 0) {  // the mass over the value's cell
            const double a = (y[j] - dim.half_cell - dim.mu[i]) / dim.sigma[i], b = a + 2 * dim.half_cell / dim.sigma[i];
            lp[i] += std::log(std::max(normal_mass(a, b), 1e-300)) - dim.log_norm[i];
          } else {
            const double z = (y[j] - dim.mu[i]) / dim.sigma[i];
            lp[i] += -0.5 * z * z - dim.log_norm[i];
          }
        }
      }
    }
    const double top = *std::max_element(lp.begin(), lp.end());
    double sum = 0;
    for (const double v : lp) sum += std::exp(v - top);
    return top + std::log(sum);
  }

 private:
  struct Dim {
    int choices = 0;
    std::vector<double> mu, sigma, log_norm;  // numeric: per component
    double half_cell = 0;
    std::vector<int> index;                   // categorical: per observation
    double log_same = 0, log_other = 0, stay = 1;
  };
  std::vector<double> weight_, cumulative_, log_weight_;
  std::vector<Dim> dims_;
};

}  // namespace

std::vector<double> recency_weights(std::size_t n) {
  std::vector<double> w(n, 1.0);
  if (n < 25) return w;
  const std::size_t ramp = n - 25;
  const double low = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < ramp; ++i)
    w[i] = ramp == 1 ? low : low + (1.0 - low) * static_cast<double>(i) / static_cast<double>(ramp - 1);
  return w;
}

std::unique_ptr<Density> univariate_numeric(const std::vector<double>& values, const std::vector<double>& weights,
                                            const DimensionKind& kind, double prior_weight) {
  return std::make_unique<UnivariateNumeric>(values, weights, kind, prior_weight);
}

std::unique_ptr<Density> univariate_categorical(const std::vector<int>& choices, const std::vector<double>& weights,
                                                int count, double prior_weight) {
  return std::make_unique<UnivariateCategorical>(choices, weights, count, prior_weight);
}

std::unique_ptr<Density> multivariate(const std::vector<std::vector<double>>& rows, const std::vector<double>& weights,
                                      const std::vector<DimensionKind>& dims, double prior_weight) {
  return std::make_unique<Multivariate>(rows, weights, dims, prior_weight);
}

}  // namespace lepton::tpe
