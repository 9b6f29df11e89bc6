// Saved models: a folder with model.json (what the network is and how to read data for it) and
// weights.pt (its parameters and buffers). Trials save one, `lepton export` copies one, fine-tuning
// and distillation start from one, `lepton predict` runs one.
#pragma once

#include "plugins/registry.hpp"

#include <lepton/config.hpp>
#include <lepton/model.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lepton::engine {

/// The content of model.json.
struct ModelCard {
  std::string model_plugin;                 ///< the model plugin that builds the network
  std::string model_version;                ///< that plugin's version when it was saved
  json model_params = json::object();       ///< the parameters it was built with
  std::vector<std::int64_t> input_shape;    ///< one sample's shape
  std::vector<std::string> class_names;     ///< output index -> class name
  std::vector<std::string> feature_names;   ///< the data's feature names, when it has them
  std::string dataset_plugin;               ///< reads data for it (`lepton predict`)
  json dataset_config = json::object();     ///< that plugin's options (its `subset` removed)
  json dataset_fitted = json::object();     ///< what the dataset fitted on train (DataSplits::fitted)
  std::vector<std::int64_t> subset_classes; ///< the dataset's class indices the model predicts, in order; empty: all
  json preprocess = json::object();         ///< the engine's fitted preprocessing (its weights hold the statistics); empty: none
  json provenance = json::object();         ///< where it came from: store, study, trial, params, metrics
  /// Where relative files named in model_params are looked up (the study's data folders), so the
  /// model loads from any working directory.
  std::vector<std::string> search_dirs;

  json to_json() const;
  /// Reads model.json's content; `file` names it in errors (ConfigError).
  static ModelCard from_json(const json& value, const std::string& file);
};

/// The file names inside a saved model's folder.
inline constexpr const char* kModelCardFile = "model.json";
inline constexpr const char* kWeightsFile = "weights.pt";

/// Saves `net` and its card into `folder`, atomically: a crash leaves either the whole folder or
/// none (it is written beside and renamed into place). Replaces an existing folder.
void save_model(const std::string& folder, Network& net, const ModelCard& card);

/// Reads the card of the saved model in `folder` (or of `folder`/model.json given directly).
/// Throws ConfigError at `path` naming the file and the problem.
ModelCard read_model_card(const std::string& folder, const std::string& path);

/// Copies a saved model's parameters and buffers into `net`, which must have the same names and
/// shapes. Throws ConfigError at `path` naming the first mismatch.
void load_weights(Network& net, const std::string& folder, const std::string& path);

/// Copies the parameters and buffers of `from` into `to`, which must have the same names and
/// shapes. Throws ConfigError naming `what` and the first mismatch.
void copy_weights(const Network& from, Network& to, const std::string& what);

/// Builds the network a card describes with `registry`'s model plugin and loads its weights.
/// `params` overrides the card's parameters (e.g. a new dropout). Throws ConfigError at `path`.
std::shared_ptr<Network> load_model(const std::string& folder, const ModelCard& card, const Registry& registry,
                                    const std::string& path, const json& params = json::object());

/// Copies a saved model's folder to `destination` (created; must not hold a saved model already
/// unless `overwrite`).
void copy_model(const std::string& folder, const std::string& destination, bool overwrite);

}  // namespace lepton::engine
