// Running a saved model on a data file: the file is read by the dataset plugin the model was
// trained with, replaying its fitted preprocessing, so predictions see data exactly as training did.
#pragma once

#include "plugins/registry.hpp"
#include "train/checkpoint.hpp"
#include "train/metrics.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// A saved model's predictions for every sample of a file.
struct Predictions {
  ModelCard card;
  at::Tensor probabilities;  ///< {N, classes}, float64
  at::Tensor predicted;      ///< {N} class indices into card.class_names
  at::Tensor labels;         ///< {N} true class indices, -1 for labels outside the model's classes; undefined without labels
  std::optional<ClassificationMetrics> metrics;  ///< over the samples whose label is one of the model's classes
  std::int64_t scored = 0;   ///< how many samples the metrics cover
  std::vector<std::string> notices;  ///< what the dataset plugin said about the file (e.g. unseen categories)
  std::vector<std::string> sample_names;  ///< each sample's name (an image's file) when the plugin gives them
};

/// Every sample of `data_file` (relative paths from the working directory) as the dataset plugin of
/// the model `card` describes reads it for prediction, its fitted preprocessing replayed. Throws
/// ConfigError at "--data" for a missing plugin, an empty file or samples of another shape.
DataSplits read_for_prediction(const ModelCard& card, const std::string& data_file, const Registry& registry);

/// Loads the model saved in `model` (a folder, or a file from `lepton export --format torchscript`,
/// int8 ones included) and predicts every sample of `data_file` (relative paths from the working
/// directory). Throws ConfigError for a bad folder or file, a missing plugin or a data file that
/// does not fit the model.
Predictions predict_file(const std::string& model, const std::string& data_file, const Registry& registry);

}  // namespace lepton::engine
