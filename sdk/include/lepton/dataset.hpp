// The dataset interface: load data once into train / valid / test tensors.
#pragma once

#include <lepton/config.hpp>
#include <lepton/export.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lepton {

/// Samples and labels of one split.
struct LEPTON_API Split {
  at::Tensor x;        ///< float32 {N, input...}; or raw pixels, uint8 {N, C, H, W}, with DataSplits::pixels
  at::Tensor y;        ///< int64 {N}, class indices in [0, classes)
  /// int64 {N}: each sample's row in the source data. Optional, but it lets `lepton plugins check`
  /// prove the splits are disjoint and lose nothing (without it, only identical samples can be found).
  at::Tensor index;
  /// float64 {N}: an optional real-valued outcome per sample that metric plugins may read, e.g.
  /// the next day's return of a direction task (Predictions::outcome).
  at::Tensor outcome;
  std::int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

/// A feature holding a category's index (0, 1, ... stored as a float; impute missing ones). The
/// engine encodes it as the trial's `encoding` preprocessing step says: one 0/1 column per
/// category (the default) or the index as it is.
struct LEPTON_API CategoricalColumn {
  std::int64_t column = 0;          ///< its position in a flattened sample
  std::vector<std::string> values;  ///< the categories, in index order
};

/// How raw pixels become a network's inputs: channel c of a uint8 sample turns into
/// (x / 255 - mean[c]) / std[c]. The engine applies it inside every network, one batch at a time,
/// so that image samples take one byte per value in memory instead of four.
struct LEPTON_API PixelScaling {
  std::vector<double> mean;  ///< per channel, in 0..1 units (0 for none)
  std::vector<double> std;   ///< per channel, positive (1 for none)
  bool defined() const { return !mean.empty(); }
};

/// Everything a dataset plugin returns. All trials of a study share it read-only.
struct LEPTON_API DataSplits {
  Split train, valid, test;
  std::vector<std::int64_t> input_shape;   ///< one sample's shape, e.g. {30} or {1, 8, 8}
  std::vector<std::string> class_names;    ///< index -> name; its size is the class count
  std::vector<std::string> feature_names;  ///< for tabular data, one per column; may be empty
  std::string task = "classification";
  /// Categorical features the engine encodes (empty: every feature is a number as it is).
  std::vector<CategoricalColumn> categorical;
  /// Set when the splits hold raw pixels (x uint8 {N, C, H, W}): one mean and std per channel C,
  /// normally fitted on the training split. Unset: x is float32 and reaches networks as it is.
  PixelScaling pixels;
  /// Provenance worth storing (file, split seed, ...). By convention "rows" holds the number of
  /// samples read, which the splits add up to.
  json info = json::object();
  /// What load() fitted on the training data and a prediction must replay to read new files the
  /// same way: the label values in class-index order, standardization statistics, ... . Saved
  /// with every model and handed back in DatasetRequest::fitted by `lepton predict`.
  json fitted = json::object();
};

/// What a dataset is loaded from.
struct LEPTON_API DatasetRequest {
  json config = json::object();  ///< the experiment's `dataset` object without "plugin"
  std::string path = "dataset";  ///< JSON path of that object, for error messages
  /// Where relative data files are looked up, in order: the working directory the study was
  /// started from, then the experiment file's folder.
  std::vector<std::string> search_dirs;
  /// Prediction mode (`lepton predict`): read every sample of `file` (instead of the file the
  /// config names) into `test`, unsplit, replaying `fitted` instead of fitting anything. Labels
  /// are optional there: leave `y` undefined when the file has none, and write -1 for a label that
  /// is not one of the trained classes.
  bool predict = false;
  std::string file;   ///< prediction mode: the file to read
  json fitted;        ///< prediction mode: DataSplits::fitted of the training run
};

/// A dataset plugin. load() runs once per study, before any trial.
class LEPTON_API Dataset {
 public:
  virtual ~Dataset() = default;
  /// Loads and splits the data. Throw ConfigError for bad options, a missing file or bad content,
  /// naming the JSON path or the file and line.
  virtual DataSplits load(const DatasetRequest& request) const = 0;
};

/// Zero mean and unit variance per feature, fitted on the training split only (held-out splits
/// must not leak into training) and replayed unchanged on every other split and at prediction.
struct LEPTON_API Standardization {
  at::Tensor mean;  ///< {F} float32, over the flattened features
  at::Tensor std;   ///< {F} float32; features constant on train get 1
  /// Fits on `train` {N, ...}.
  static Standardization fit(const at::Tensor& train);
  /// `x` {N, ...} standardized, same shape.
  at::Tensor apply(const at::Tensor& x) const;
  /// {"mean": [...], "std": [...]}, for DataSplits::fitted.
  json to_json() const;
  /// Reads to_json()'s form; throws ConfigError at `path` when it is malformed.
  static Standardization from_json(const json& value, const std::string& path);
};

/// Resolves a data file named in an experiment: as given when absolute, else the first of
/// `search_dirs`/file that exists. Throws ConfigError at `path` naming every place it looked.
LEPTON_API std::string resolve_data_file(const std::string& file, const std::vector<std::string>& search_dirs,
                                         const std::string& path);

/// resolve_data_file for any kind of file: `kind` names it in the error, e.g. "TorchScript file".
LEPTON_API std::string resolve_file(const std::string& file, const std::vector<std::string>& search_dirs,
                                    const std::string& path, const std::string& kind);

}  // namespace lepton
