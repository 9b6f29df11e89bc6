// Image augmentation for training batches: random flips, crops with padding, shifts and rotations,
// drawn per sample from the trial's generator (so a seed gives the same run) and never applied to
// validation or test data.
#pragma once

#include <lepton/config.hpp>

#include <ATen/core/Tensor.h>

#include <string>

namespace lepton::engine {

struct AugmentSettings {
  bool flip = false;  ///< mirror left-right with probability 1/2
  int crop = 0;       ///< pad by this many pixels, then crop at a random place: shifts of -crop..crop pixels
  double shift = 0;   ///< further shifts of up to this fraction of the width and height
  double rotate = 0;  ///< rotations of up to this many degrees either way
  bool any() const { return flip || crop > 0 || shift > 0 || rotate > 0; }
  /// Which settings are on, e.g. "augment_flip, augment_crop", for messages.
  std::string names() const;
};

/// `x` {N, C, H, W} with each sample flipped, shifted and rotated at random, in one resampling.
/// Pixels brought in from outside the image are 0: black for raw pixels (as torchvision's
/// transforms fill before normalizing), the training mean for standardized samples. Integer
/// shifts and flips move pixels exactly; rotations and fractional shifts interpolate bilinearly.
at::Tensor augment(const at::Tensor& x, const AugmentSettings& settings, at::Generator generator);

}  // namespace lepton::engine
