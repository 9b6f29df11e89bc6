// Log expected improvement and its multi-start maximization: a wide random sweep, gradient ascent
// from the best few, a sweep over categorical choices, all in batched LibTorch calls.
#include "acquisition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lepton::gp {

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752;
constexpr double kHalfLogTwoPi = 0.91893853320467274;
constexpr double kHalfLogHalfPi = 0.22579135264472744;  // log(pi / 2) / 2
constexpr double kLn2 = 0.69314718055994531;

// log(1 - exp(x)) for x < 0, accurate at both ends (Maechler 2012).
at::Tensor log1mexp(const at::Tensor& x) {
  const auto near = x > -kLn2;
  const auto a = torch::where(near, x, torch::full_like(x, -1.0));
  const auto b = torch::where(near, torch::full_like(x, -1.0), x);
  return torch::where(near, torch::log(-torch::expm1(a)), torch::log1p(-torch::exp(b)));
}

at::Tensor to_tensor(const std::vector<double>& flat, std::int64_t rows, std::int64_t cols) {
  return torch::from_blob(const_cast<double*>(flat.data()), {rows, cols}, torch::kFloat64).clone();
}

std::vector<double> row_of(const at::Tensor& x, std::int64_t i) {
  const auto r = x[i].contiguous();
  return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
}

// log h(z), h(z) = phi(z) + z Phi(z), by two formulas (Ament et al. 2023); each branch gets safe
// inputs so that neither produces NaN.
at::Tensor log_h(const at::Tensor& z) {
  const auto upper = z > -1.0;
  const auto zu = torch::where(upper, z, torch::full_like(z, -1.0));
  const auto zl = torch::where(upper, torch::full_like(z, -2.0), z);
  const auto hu = torch::log(torch::exp(-0.5 * zu * zu - kHalfLogTwoPi) + zu * 0.5 * torch::erfc(-zu * kInvSqrt2));
  const auto inner = torch::log(torch::special::erfcx(-zl * kInvSqrt2) * zl.abs()) + kHalfLogHalfPi;
  const auto hl = -0.5 * zl * zl - kHalfLogTwoPi + log1mexp(inner.clamp_max(-1e-300));
  return torch::where(upper, hu, hl);
}

// Phi(z) / h(z), the slope of log h (h' = Phi); past z = -10, where h cancels, its asymptotic
// series |z| (1 - 1/z^2 + 3/z^4) / (1 - 3/z^2 + 15/z^4).
double slope_of_log_h(double z) {
  if (z < -10) {
    const double q = 1.0 / (z * z);
    return -z * (1 - q + 3 * q * q) / (1 - 3 * q + 15 * q * q);
  }
  const double cdf = 0.5 * std::erfc(-z * kInvSqrt2);
  return cdf / (std::exp(-0.5 * z * z - kHalfLogTwoPi) + z * cdf);
}

// Projected Adam ascent of log EI from `x` (moved in place) on the dimensions where `movable` is 1,
// with the closed-form gradient d logEI = (1 - r z) / sd dsd - r / sd dmean, z = (best - mean) / sd,
// r = Phi(z) / h(z). The step shrinks to a tenth: coarse moves first, then precision.
void ascend(const Posterior& posterior, double best, double* x, const double* movable, std::size_t dims, int steps) {
  if (std::none_of(movable, movable + dims, [](double m) { return m > 0; })) return;
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999;
  std::vector<double> m(dims, 0.0), v(dims, 0.0);
  for (int step = 1; step <= steps; ++step) {
    const auto p = posterior.predict_with_gradient(x);
    const double z = (best - p.mean) / p.sd, r = slope_of_log_h(z);
    const double lr = 0.02 * std::pow(0.1, static_cast<double>(step - 1) / std::max(1, steps - 1));
    const double c1 = 1 - std::pow(kBeta1, step), c2 = 1 - std::pow(kBeta2, step);
    for (std::size_t j = 0; j < dims; ++j) {
      double g = movable[j] > 0 ? ((1.0 - r * z) * p.sd_grad[j] - r * p.mean_grad[j]) / p.sd : 0.0;
      if (!std::isfinite(g)) g = 0.0;
      m[j] = kBeta1 * m[j] + (1 - kBeta1) * g;
      v[j] = kBeta2 * v[j] + (1 - kBeta2) * g * g;
      x[j] = std::clamp(x[j] + lr * (m[j] / c1) / (std::sqrt(v[j] / c2) + 1e-8), 0.0, 1.0);
    }
  }
}

}  // namespace

void fill_inactive(std::vector<double>& x, const Layout& layout) {
  for (std::size_t d = 0; d < x.size(); ++d)
    if (std::isnan(x[d])) x[d] = layout.continuous[d] ? 0.5 : 0.0;
}

at::Tensor log_expected_improvement(const at::Tensor& mean, const at::Tensor& sd, double best) {
  return log_h((best - mean) / sd) + sd.log();
}

std::vector<double> maximize_log_ei(const Posterior& posterior, double best, const Layout& layout,
                                    const Canonical& canonical, const std::vector<std::vector<double>>& incumbents,
                                    const Effort& effort, Rng& rng) {
  const auto dims = static_cast<std::int64_t>(layout.continuous.size());
  auto score = [&](const at::Tensor& x) {
    torch::NoGradGuard no_grad;
    const auto [mean, sd] = posterior.predict(x);
    return log_expected_improvement(mean, sd, best);
  };
  auto canonical_filled = [&](const std::vector<double>& x) {
    auto c = canonical(x);
    fill_inactive(c, layout);
    return c;
  };

  // 1. A wide sweep: uniform candidates, and small steps around the best points seen so far.
  std::vector<double> pool;
  auto random_point = [&]() {
    std::vector<double> x(static_cast<std::size_t>(dims), 0.0);
    for (std::size_t d = 0; d < x.size(); ++d)
      if (layout.continuous[d]) x[d] = uniform01(rng);
    for (const auto& [first, count] : layout.one_hot)
      x[first + static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(count) - 1))] = 1.0;
    return x;
  };
  for (int i = 0; i < effort.random_candidates; ++i) {
    const auto x = random_point();
    pool.insert(pool.end(), x.begin(), x.end());
  }
  const double widths[] = {0.005, 0.02, 0.08};
  for (const auto& incumbent : incumbents)
    for (int i = 0; i < 21; ++i) {
      auto x = incumbent;
      for (std::size_t d = 0; d < x.size(); ++d)
        if (layout.continuous[d]) x[d] = std::clamp(x[d] + widths[i % 3] * normal01(rng), 0.0, 1.0);
      pool.insert(pool.end(), x.begin(), x.end());
    }
  const auto rows = static_cast<std::int64_t>(pool.size()) / std::max<std::int64_t>(dims, 1);
  const auto candidates = to_tensor(pool, rows, dims);
  const auto scores = score(candidates);

  // 2. The best few, made canonical, refined by projected Adam on their active numeric dimensions.
  const auto k = std::min<std::int64_t>(effort.local_starts, rows);
  const auto top = std::get<1>(scores.topk(k)).contiguous();
  std::vector<double> starts, mask;
  for (std::int64_t i = 0; i < k; ++i) {
    const auto raw = canonical(row_of(candidates, top[i].item<std::int64_t>()));
    for (std::size_t d = 0; d < raw.size(); ++d) mask.push_back(layout.continuous[d] && !std::isnan(raw[d]) ? 1.0 : 0.0);
    auto filled = raw;
    fill_inactive(filled, layout);
    starts.insert(starts.end(), filled.begin(), filled.end());
  }
  const auto start = to_tensor(starts, k, dims);
  std::vector<double> refined_rows = starts;
  if (effort.local_steps > 0)
    for (std::int64_t i = 0; i < k; ++i)
      ascend(posterior, best, &refined_rows[static_cast<std::size_t>(i * dims)], &mask[static_cast<std::size_t>(i * dims)],
             static_cast<std::size_t>(dims), effort.local_steps);

  // 3. Canonical forms of the refined points and of their starts; the best wins.
  std::vector<double> finals;
  const auto refined = to_tensor(refined_rows, k, dims);
  for (std::int64_t i = 0; i < k; ++i) {
    for (const auto& source : {refined, start}) {
      const auto c = canonical_filled(row_of(source, i));
      finals.insert(finals.end(), c.begin(), c.end());
    }
  }
  auto pick = [&](const std::vector<double>& flat) {
    const auto n = static_cast<std::int64_t>(flat.size()) / std::max<std::int64_t>(dims, 1);
    const auto s = score(to_tensor(flat, n, dims));
    const auto i = s.argmax().item<std::int64_t>();
    return std::make_pair(std::vector<double>(flat.begin() + i * dims, flat.begin() + (i + 1) * dims), s[i].item<double>());
  };
  auto [winner, value] = pick(finals);

  // 4. Every other choice of each categorical around the winner.
  if (!layout.one_hot.empty()) {
    std::vector<double> moves(winner);
    for (const auto& [first, count] : layout.one_hot)
      for (std::size_t c = 0; c < count; ++c) {
        if (winner[first + c] == 1.0) continue;
        auto x2 = winner;
        std::fill(x2.begin() + static_cast<std::ptrdiff_t>(first), x2.begin() + static_cast<std::ptrdiff_t>(first + count), 0.0);
        x2[first + c] = 1.0;
        const auto cx = canonical_filled(x2);
        moves.insert(moves.end(), cx.begin(), cx.end());
      }
    auto [moved, moved_value] = pick(moves);
    if (moved_value > value) winner = std::move(moved);
  }
  return winner;
}

}  // namespace lepton::gp
