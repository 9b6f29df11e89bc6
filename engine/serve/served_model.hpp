// One model behind `lepton serve`: an exported model folder, whose requests its dataset plugin reads
// exactly as `lepton predict` reads files, or a TorchScript file, which takes rows of numbers.
#pragma once

#include "plugins/registry.hpp"

#include <ATen/core/Tensor.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lepton::engine {

/// A request the server cannot answer: its HTTP status (4xx), the field at fault and why.
class BadRequest : public std::runtime_error {
 public:
  BadRequest(int status, std::string field, const std::string& message)
      : std::runtime_error(message), status_(status), field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string field_;
};

/// What a prediction request carries once its HTTP framing is gone.
struct ModelInput {
  enum class Kind { kRows, kRecords, kFile, kImages };
  Kind kind = Kind::kRows;
  json rows;                       ///< kRows: [[value, ...], ...]; kRecords: [{"column": value}, ...]
  std::vector<std::string> files;  ///< kFile: the bytes of one data file; kImages: one image's bytes each
  std::string extension;           ///< kFile: the file's format, e.g. ".csv"
};

class ServedModel {
 public:
  /// Loads `path`: an exported model folder (or its model.json or weights.pt), or a TorchScript file
  /// written by `lepton export --format torchscript`. `scratch` is a private folder for the files
  /// requests are written to for the dataset plugin. Throws ConfigError at "--model".
  ServedModel(std::string name, const std::string& path, const Registry& registry, std::string scratch);
  ~ServedModel();
  ServedModel(const ServedModel&) = delete;
  ServedModel& operator=(const ServedModel&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& class_names() const;
  /// GET /v1/models/NAME: classes, inputs, where the model came from and its metrics.
  json describe() const;
  /// The samples `input` holds, as the network takes them {n, input...}. Throws BadRequest.
  at::Tensor samples(const ModelInput& input) const;
  /// Class probabilities {N, classes}, float64, of samples stacked from one or more requests.
  at::Tensor probabilities(const at::Tensor& samples) const;

 private:
  struct Impl;
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lepton::engine
