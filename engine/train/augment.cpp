// Augmentation as one affine resampling per batch: each sample's flip, shift and rotation make one
// 2x3 matrix, and grid_sample reads the whole batch through them.
#include "train/augment.hpp"

#include <torch/torch.h>

#include <cmath>

namespace lepton::engine {

std::string AugmentSettings::names() const {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (on) out += (out.empty() ? "" : ", ") + std::string(name);
  };
  add(flip, "augment_flip");
  add(crop > 0, "augment_crop");
  add(shift > 0, "augment_shift");
  add(rotate > 0, "augment_rotate");
  return out;
}

at::Tensor augment(const at::Tensor& x, const AugmentSettings& s, at::Generator generator) {
  const auto n = x.size(0);
  const double height = static_cast<double>(x.size(2)), width = static_cast<double>(x.size(3));
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  auto uniform = [&](double bound) { return (torch::rand({n}, generator, options) * 2 - 1) * bound; };
  // Shifts in pixels: whole pixels from the crop, any amount from the shift fraction.
  auto shift_x = torch::zeros({n}, options), shift_y = torch::zeros({n}, options);
  if (s.crop > 0) {
    shift_x += torch::randint(-s.crop, s.crop + 1, {n}, generator, options);
    shift_y += torch::randint(-s.crop, s.crop + 1, {n}, generator, options);
  }
  if (s.shift > 0) {
    shift_x += uniform(s.shift * width);
    shift_y += uniform(s.shift * height);
  }
  const auto angle = s.rotate > 0 ? uniform(s.rotate * M_PI / 180.0) : torch::zeros({n}, options);
  const auto mirror = s.flip ? 1 - 2 * (torch::rand({n}, generator, options) < 0.5).to(torch::kFloat64) : torch::ones({n}, options);
  // Output (x, y) in [-1, 1] reads the input at theta * (x, y, 1). A rotation by a in pixel space
  // is, in these units, [[cos a, -sin a * H/W], [sin a * W/H, cos a]]; a shift of d pixels is
  // 2d/W (or 2d/H); a flip mirrors the output's x.
  const auto c = torch::cos(angle), sn = torch::sin(angle);
  const auto theta = torch::stack({torch::stack({c * mirror, -sn * (height / width), -2 * shift_x / width}, 1),
                                   torch::stack({sn * (width / height) * mirror, c, -2 * shift_y / height}, 1)},
                                  1)
                         .to(x.scalar_type());
  const auto grid = torch::nn::functional::affine_grid(theta, {n, x.size(1), x.size(2), x.size(3)}, false);
  return torch::nn::functional::grid_sample(
      x, grid, torch::nn::functional::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros).align_corners(false));
}

}  // namespace lepton::engine
