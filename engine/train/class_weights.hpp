// Per-class loss weights for imbalanced data (`task.class_weight`).
#pragma once

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>

#include <ATen/core/Tensor.h>

#include <string>

namespace lepton::engine {

/// The loss weight of each class, float32 {classes}, or an undefined tensor for "none".
/// "balanced" gives n / (classes x count_c) from the training split (scikit-learn's rule), so a
/// class with half the samples weighs twice as much; explicit weights name classes or list them by
/// index, unnamed classes weighing 1. Throws ConfigError at `path` for a class the data lacks.
at::Tensor class_weights(const json& setting, const DataSplits& data, const std::string& path = "task.class_weight");

}  // namespace lepton::engine
