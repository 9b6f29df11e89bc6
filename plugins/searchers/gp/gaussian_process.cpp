// Matern-5/2 ARD Gaussian process: kernel, marginal-likelihood fit by L-BFGS, posterior.
#include "gaussian_process.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::gp {

namespace {

constexpr double kSqrt5 = 2.23606797749979;
constexpr double kNoiseFloor = 1e-6;
constexpr double kLogTwoPi = 1.8378770664093453;

// Log length scales stay in [1e-3, 1e3] on the unit cube, signal and noise in sane ranges.
constexpr double kMinLogLength = -6.9, kMaxLogLength = 6.9;

// Weak priors (log densities of the log-parameters, up to constants). Length scales: Gamma(3, 6)
// on the unit cube (BoTorch's long-standing default; mode 0.5 on the log scale); signal variance
// LogNormal(0, 1) around the standardized outputs' variance; noise Gamma(1.1, 0.05) as in BoTorch.
at::Tensor log_prior(const at::Tensor& log_length, const at::Tensor& log_signal, const at::Tensor& noise) {
  auto lp = (3.0 * log_length - 6.0 * log_length.exp()).sum();
  lp = lp - 0.5 * log_signal.pow(2);
  lp = lp + 0.1 * noise.log() - 0.05 * noise;
  return lp;
}

// a . b over `n` values, with four partial sums so that the additions do not wait on each other.
double dot(const double* a, const double* b, std::size_t n) {
  double s[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (std::size_t u = 0; u < 4; ++u) s[u] += a[i + u] * b[i + u];
  for (; i < n; ++i) s[0] += a[i] * b[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

at::Tensor cholesky_with_jitter(const at::Tensor& k) {
  const auto n = k.size(0);
  double jitter = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    const auto matrix = jitter > 0 ? k + jitter * torch::eye(n, k.options()) : k;
    auto [chol, info] = torch::linalg_cholesky_ex(matrix);
    if (info.item<int>() == 0) return chol;
    jitter = jitter == 0 ? 1e-8 : jitter * 100;
  }
  throw std::runtime_error("the kernel matrix is not positive definite");
}

}  // namespace

Hyperparameters Hyperparameters::initial(std::size_t dims) {
  Hyperparameters h;
  h.log_lengthscale.assign(dims, std::log(0.5));  // the length-scale prior's mode
  h.log_signal = 0.0;
  h.log_noise = std::log(1e-3);
  return h;
}

std::vector<double> Hyperparameters::flat() const {
  std::vector<double> out(log_lengthscale);
  out.push_back(log_signal);
  out.push_back(log_noise);
  return out;
}

Hyperparameters Hyperparameters::from_flat(const std::vector<double>& values) {
  Hyperparameters h;
  h.log_lengthscale.assign(values.begin(), values.end() - 2);
  h.log_signal = values[values.size() - 2];
  h.log_noise = values.back();
  return h;
}

at::Tensor matern52(const at::Tensor& a, const at::Tensor& b, const at::Tensor& lengthscale, const at::Tensor& signal) {
  // Squared distances as |a|^2 + |b|^2 - 2 a.b: one matrix product instead of an {n, m, d} tensor.
  const auto as = a / lengthscale, bs = b / lengthscale;
  const auto r2 = (as.pow(2).sum(1, true) + bs.pow(2).sum(1).unsqueeze(0) - 2.0 * as.mm(bs.t())).clamp_min(1e-30);
  const auto r = r2.sqrt();
  return signal * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r2) * torch::exp(-kSqrt5 * r);
}

Hyperparameters fit(const at::Tensor& x, const at::Tensor& y, const Hyperparameters& start, int max_iterations) {
  const auto n = x.size(0);
  auto theta = torch::tensor(start.flat(), x.options()).requires_grad_(true);
  const auto d = x.size(1);
  auto objective = [&]() {
    const auto log_length = theta.slice(0, 0, d).clamp(kMinLogLength, kMaxLogLength);
    const auto log_signal = theta[d].clamp(-7.0, 7.0);
    const auto noise = kNoiseFloor + theta[d + 1].clamp(-20.0, 2.0).exp();
    const auto k = matern52(x, x, log_length.exp(), log_signal.exp()) + noise * torch::eye(n, x.options());
    const auto chol = cholesky_with_jitter(k);
    const auto alpha = torch::cholesky_solve(y.unsqueeze(1), chol).squeeze(1);
    const auto nll = 0.5 * (y * alpha).sum() + chol.diagonal().log().sum() + 0.5 * static_cast<double>(n) * kLogTwoPi;
    return nll - log_prior(log_length, log_signal, noise);
  };
  torch::optim::LBFGS optimizer({theta}, torch::optim::LBFGSOptions(1.0)
                                             .max_iter(max_iterations)
                                             .tolerance_grad(1e-5)
                                             .tolerance_change(1e-9)
                                             .line_search_fn("strong_wolfe"));
  try {
    optimizer.step([&]() {
      optimizer.zero_grad();
      auto loss = objective();
      loss.backward();
      return loss;
    });
  } catch (const std::exception&) {
    return start;
  }
  const auto values = theta.detach();
  std::vector<double> out(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  for (const double v : out)
    if (!std::isfinite(v)) return start;
  for (std::int64_t i = 0; i < d; ++i) out[static_cast<std::size_t>(i)] = std::clamp(out[static_cast<std::size_t>(i)], kMinLogLength, kMaxLogLength);
  out[static_cast<std::size_t>(d)] = std::clamp(out[static_cast<std::size_t>(d)], -7.0, 7.0);
  out[static_cast<std::size_t>(d) + 1] = std::clamp(out[static_cast<std::size_t>(d) + 1], -20.0, 2.0);
  return Hyperparameters::from_flat(out);
}

double log_marginal_likelihood(const at::Tensor& x, const at::Tensor& y, const Hyperparameters& h) {
  torch::NoGradGuard no_grad;
  const auto options = x.options();
  const auto lengthscale = torch::tensor(h.log_lengthscale, options).exp();
  const auto signal = torch::tensor(std::exp(h.log_signal), options);
  const double noise = kNoiseFloor + std::exp(h.log_noise);
  const auto k = matern52(x, x, lengthscale, signal) + noise * torch::eye(x.size(0), options);
  const auto chol = cholesky_with_jitter(k);
  const auto alpha = torch::cholesky_solve(y.unsqueeze(1), chol).squeeze(1);
  return -(0.5 * (y * alpha).sum() + chol.diagonal().log().sum()).item<double>() -
         0.5 * static_cast<double>(x.size(0)) * kLogTwoPi;
}

Posterior::Posterior(at::Tensor x, const at::Tensor& y, const Hyperparameters& h) : x_(std::move(x)) {
  const auto options = x_.options();
  lengthscale_ = torch::tensor(h.log_lengthscale, options).exp();
  signal_ = torch::tensor(std::exp(h.log_signal), options);
  const double noise = kNoiseFloor + std::exp(h.log_noise);
  const auto k = matern52(x_, x_, lengthscale_, signal_) + noise * torch::eye(x_.size(0), options);
  chol_ = cholesky_with_jitter(k);
  alpha_ = torch::cholesky_solve(y.unsqueeze(1), chol_);
  auto values = [](const at::Tensor& t) {
    const auto c = t.contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  rows_ = values(x_);
  chol_rows_ = values(chol_);
  alpha_values_ = values(alpha_);
  inv_length2_ = values(lengthscale_.pow(-2));
  signal_value_ = signal_.item<double>();
}

std::pair<at::Tensor, at::Tensor> Posterior::predict(const at::Tensor& x) const {
  const auto k = matern52(x, x_, lengthscale_, signal_);  // {m, n}
  const auto mean = k.mm(alpha_).squeeze(1);
  // v = L^-1 k^T by forward substitution, one training point (a row of v) at a time for all
  // candidates at once: contiguous, vectorizable updates, several times faster than the
  // reference BLAS's dtrsm that Debian's LibTorch may be linked with.
  auto v = k.detach().t().contiguous();  // {n, m}
  const auto n = static_cast<std::size_t>(v.size(0)), m = static_cast<std::size_t>(v.size(1));
  double* rows = v.data_ptr<double>();
  for (std::size_t i = 0; i < n; ++i) {
    double* vi = rows + i * m;
    for (std::size_t j = 0; j < i; ++j) {
      const double l = chol_rows_[i * n + j];
      const double* vj = rows + j * m;
      for (std::size_t c = 0; c < m; ++c) vi[c] -= l * vj[c];
    }
    const double inverse = 1.0 / chol_rows_[i * n + i];
    for (std::size_t c = 0; c < m; ++c) vi[c] *= inverse;
  }
  const auto var = (signal_ - v.pow(2).sum(0)).clamp_min(1e-12);
  return {mean, var.sqrt()};
}

Posterior::Gradient Posterior::predict_with_gradient(const double* x) const {
  // k_i = s (1 + sqrt5 r + 5/3 r^2) e^(-sqrt5 r), so dk_i/dx_d = -g_i (x_d - t_id) / l_d^2 with
  // g_i = 5/3 s (1 + sqrt5 r) e^(-sqrt5 r).
  const std::size_t n = alpha_values_.size(), d = inv_length2_.size();
  std::vector<double> k(n), g(n), v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double* t = &rows_[i * d];
    double r2 = 0;
    for (std::size_t j = 0; j < d; ++j) r2 += (x[j] - t[j]) * (x[j] - t[j]) * inv_length2_[j];
    r2 = std::max(r2, 1e-30);
    const double r = std::sqrt(r2), e = std::exp(-kSqrt5 * r);
    k[i] = signal_value_ * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r2) * e;
    g[i] = signal_value_ * (5.0 / 3.0) * (1.0 + kSqrt5 * r) * e;
  }
  Gradient out;
  for (std::size_t i = 0; i < n; ++i) out.mean += k[i] * alpha_values_[i];
  // v = L^-1 k (forward substitution), var = s - |v|^2, beta = L^-T v = K^-1 k (back substitution).
  double vv = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = (k[i] - dot(&chol_rows_[i * n], v.data(), i)) / chol_rows_[i * n + i];
    vv += v[i] * v[i];
  }
  out.sd = std::sqrt(std::max(signal_value_ - vv, 1e-12));
  for (std::size_t i = n; i-- > 0;) {  // by rows of L (columns of L^T): contiguous updates
    v[i] /= chol_rows_[i * n + i];       // v now holds beta from i on
    const double* row = &chol_rows_[i * n];
    for (std::size_t j = 0; j < i; ++j) v[j] -= row[j] * v[i];
  }
  // dmean = sum_i alpha_i dk_i; var = s - k^T K^-1 k, so dsd = -sum_i beta_i dk_i / sd.
  out.mean_grad.assign(d, 0.0);
  out.sd_grad.assign(d, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double* t = &rows_[i * d];
    const double a = alpha_values_[i] * g[i], b = v[i] * g[i] / out.sd;
    for (std::size_t j = 0; j < d; ++j) {
      const double slope = (x[j] - t[j]) * inv_length2_[j];
      out.mean_grad[j] -= a * slope;
      out.sd_grad[j] += b * slope;
    }
  }
  return out;
}

}  // namespace lepton::gp
