// The acquisition function (log expected improvement) and its maximization over the unit cube.
#pragma once

#include "gaussian_process.hpp"

#include <lepton/random.hpp>

#include <functional>
#include <vector>

namespace lepton::gp {

/// log EI of minimizing below `best`, from the posterior mean and standard deviation: the LogEI
/// of Ament et al. (2023), accurate where EI itself underflows to zero, so that the optimizer
/// still has a slope to follow far from the incumbent.
at::Tensor log_expected_improvement(const at::Tensor& mean, const at::Tensor& sd, double best);

/// Which dimensions the optimizer may move continuously and which form one-hot blocks.
struct Layout {
  std::vector<bool> continuous;                               ///< per dimension: numeric
  std::vector<std::pair<std::size_t, std::size_t>> one_hot;   ///< (first, count) per categorical
};

/// Gives dimensions that are NaN (inactive parameters) their fill value: the middle for numbers,
/// zero for one-hot; training inputs and candidates use the same form.
void fill_inactive(std::vector<double>& x, const Layout& layout);

/// How hard to search.
struct Effort {
  int random_candidates = 2000;  ///< uniform candidates scored at once
  int local_starts = 5;          ///< best candidates refined by gradient ascent
  int local_steps = 40;          ///< Adam steps per refinement
};

/// Maps a vector to the canonical form of the point it decodes to (discrete values snapped,
/// inactive dimensions at their fill value), so that the process sees what would run.
using Canonical = std::function<std::vector<double>(const std::vector<double>&)>;

/// Maximizes log EI: random candidates plus perturbations of the best observed points, gradient
/// ascent (projected Adam) on the numeric dimensions from the best few, then every other choice
/// of each categorical around the winner. Returns the best canonical point found.
std::vector<double> maximize_log_ei(const Posterior& posterior, double best, const Layout& layout,
                                    const Canonical& canonical, const std::vector<std::vector<double>>& incumbents,
                                    const Effort& effort, Rng& rng);

}  // namespace lepton::gp
