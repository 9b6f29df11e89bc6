// A Gaussian process on the unit cube: Matern-5/2 kernel with one length scale per dimension,
// hyperparameters fitted by maximizing the marginal likelihood (with weak priors), LibTorch for
// the linear algebra.
#pragma once

#include <torch/torch.h>

#include <utility>
#include <vector>

namespace lepton::gp {

/// Kernel hyperparameters, on the log scale: per-dimension length scales, signal variance and
/// noise variance (above a floor of 1e-6 of the standardized outputs' variance).
struct Hyperparameters {
  std::vector<double> log_lengthscale;
  double log_signal = 0.0;
  double log_noise = -9.0;

  /// Defaults for `dims` input dimensions: length scales near the prior's centre.
  static Hyperparameters initial(std::size_t dims);
  std::vector<double> flat() const;
  static Hyperparameters from_flat(const std::vector<double>& values);
};

/// The Matern-5/2 kernel matrix {n, m} between the rows of `a` {n, d} and `b` {m, d}.
at::Tensor matern52(const at::Tensor& a, const at::Tensor& b, const at::Tensor& lengthscale, const at::Tensor& signal);

/// Fits the hyperparameters to inputs `x` {n, d} and standardized outputs `y` {n} by L-BFGS on the
/// negative log marginal likelihood plus weak log-normal priors, starting from `start`. Returns
/// `start` when the optimization fails.
Hyperparameters fit(const at::Tensor& x, const at::Tensor& y, const Hyperparameters& start, int max_iterations);

/// The log marginal likelihood of standardized outputs `y` under hyperparameters `h` (no priors):
/// the evidence that compares output transformations.
double log_marginal_likelihood(const at::Tensor& x, const at::Tensor& y, const Hyperparameters& h);

/// The posterior of a fitted process given its training data.
class Posterior {
 public:
  Posterior(at::Tensor x, const at::Tensor& y, const Hyperparameters& h);
  /// Mean and standard deviation {m} at the rows of `x` {m, d}.
  std::pair<at::Tensor, at::Tensor> predict(const at::Tensor& x) const;

  /// The prediction at one point `x` (d values) with its gradients with respect to `x`, in closed
  /// form and plain C++: the acquisition's local search calls it for a handful of points many
  /// times, where the per-call overhead of tensor operations would dominate.
  struct Gradient {
    double mean = 0, sd = 0;
    std::vector<double> mean_grad, sd_grad;  ///< d values each
  };
  Gradient predict_with_gradient(const double* x) const;

 private:
  at::Tensor x_, alpha_, chol_, lengthscale_, signal_;
  // The same, as plain row-major arrays for predict_with_gradient.
  std::vector<double> rows_, chol_rows_, alpha_values_, inv_length2_;
  double signal_value_ = 0;
};

}  // namespace lepton::gp
