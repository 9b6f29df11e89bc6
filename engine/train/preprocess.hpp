// Preprocessing fitted on the samples a network trains on (the training split, or a fold's training
// rows) and carried inside the network, so validation, test and prediction data pass through
// the same fitted transform and never inform it.
#pragma once

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>
#include <lepton/model.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace lepton::engine {

/// A fitted transform: raw pixels to floats, one-hot encoding of categorical features, scaling per
/// feature, then an optional projection on principal components.
struct Preprocessor {
  /// Raw pixels (uint8, or floats on the same 0..255 scale): (x / 255 - mean) / std per channel,
  /// {1, C, 1, 1} each, as the dataset's PixelScaling gives them; undefined: the inputs are floats.
  at::Tensor pixel_mean, pixel_std;
  /// One-hot encoding: the categorical features (positions in a flattened sample) and their
  /// category counts; they become one 0/1 column each per category, after the other features.
  std::vector<std::int64_t> onehot_columns, onehot_sizes;
  at::Tensor shift, scale;          ///< scaling: (x - shift) / scale per (encoded) feature; undefined: none
  at::Tensor center, components;    ///< PCA: (x - center) @ components {features, k}; undefined: none
  std::vector<std::int64_t> input_shape;  ///< one raw sample's shape
  std::int64_t fitted_rows = 0;           ///< how many samples the statistics came from

  bool identity() const { return !pixel_mean.defined() && !fits_features(); }
  /// Whether any step after the pixels' (one-hot, scaling, PCA) is on.
  bool fits_features() const { return !onehot_columns.empty() || shift.defined() || components.defined(); }
  /// Sets the pixel step.
  void set_pixels(const PixelScaling& pixels);
  /// `x` through the pixel step alone (`x` itself when there is none).
  at::Tensor scale_pixels(const at::Tensor& x) const;
  /// One transformed sample's shape: {k} after PCA, {encoded features} after one-hot, else the input's.
  std::vector<std::int64_t> output_shape() const;
  /// Transforms a batch {N, input...}.
  at::Tensor apply(const at::Tensor& x) const;
  /// What the trial stores: the steps, their sizes and the rows fitted on, e.g.
  /// {"scaler": "standardize", "pca_components": 7, "fitted_rows": 341}, plus "onehot":
  /// [[column, categories], ...] when it encodes and "pixels": channels when it reads raw pixels.
  json describe() const;
  json settings;  ///< the settings it was fitted with

  /// Encodes the categorical features of flattened samples {N, F}; the others pass unchanged.
  at::Tensor encode(const at::Tensor& flat) const;
  /// Sets the one-hot step for `columns` of `sizes` categories, in samples of `features` features.
  void set_onehot(std::vector<std::int64_t> columns, std::vector<std::int64_t> sizes, std::int64_t features);

  /// The one-hot step's index tensors, for replaying encode() elsewhere (the TorchScript export).
  struct OneHotIndex {
    at::Tensor kept, coded;     ///< {K} columns passed through, {C} columns encoded
    at::Tensor sizes, offsets;  ///< {1, C} category counts and each column's first one-hot slot
    std::int64_t width = 0;     ///< encoded features: K + the categories
  };
  OneHotIndex onehot_index() const { return {kept_, coded_, sizes_, offsets_, encoded_width_}; }

 private:
  at::Tensor kept_, coded_, sizes_, offsets_;  // the one-hot step's index tensors
  std::int64_t encoded_width_ = 0;
};

/// Whether `settings` (the preprocess owner's values) ask for any step on data with `categorical`
/// features (which are one-hot encoded unless `encoding` is "ordinal").
bool wants_preprocessing(const json& settings, const std::vector<CategoricalColumn>& categorical = {});

/// Fits the steps `settings` ask for on `train_x` {N, input...} alone. PCA keeps `pca_components`
/// (capped at min(N, features)) or, when unset, the fewest components explaining 95% of the variance.
/// `categorical` features are one-hot encoded first, unless `encoding` is "ordinal". Raw pixels
/// (`pixels` defined) are scaled as it says before anything else.
Preprocessor fit_preprocessor(const json& settings, const at::Tensor& train_x,
                              const std::vector<CategoricalColumn>& categorical = {}, const PixelScaling& pixels = {});

/// A preprocessor of the shape `described` (Preprocessor::describe()) records for samples of
/// `input_shape`, its statistics zero: loading a saved network's buffers fills them in.
Preprocessor blank_preprocessor(const json& described, const std::vector<std::int64_t>& input_shape);

/// `net` behind `pre`: features(x) = net->features(pre.apply(x)); parameters, head and layers are
/// the wrapped network's, the fitted statistics are buffers (saved with the weights).
std::shared_ptr<Network> with_preprocessing(std::shared_ptr<Network> net, const Preprocessor& pre);

/// `net` reading raw pixels of samples `input_shape` as `pixels` says, unless its preprocessing
/// already does (or `pixels` is undefined): a network trained on float inputs (a TorchScript file,
/// a model of other data) fine-tuned or teaching on a folder of images.
std::shared_ptr<Network> reading_pixels(std::shared_ptr<Network> net, const PixelScaling& pixels,
                                        const std::vector<std::int64_t>& input_shape);

/// What with_preprocessing() joined: the network behind and its preprocessor (for `net` itself,
/// when it was not wrapped: `net` and an identity preprocessor).
std::pair<std::shared_ptr<Network>, Preprocessor> split_preprocessing(const std::shared_ptr<Network>& net);

}  // namespace lepton::engine
