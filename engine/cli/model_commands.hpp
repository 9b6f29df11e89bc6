// `lepton export` and `lepton predict`: a trial's saved model out of the store, and run on new data.
// They register themselves on the CLI11 app, like the result commands.
#pragma once

#include "cli/command_group.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace lepton::cli {

struct ModelExportArgs {
  std::string storage, study;
  std::string trial = "best";  ///< "best" or a trial number
  std::string output;          ///< -o: the folder (or, for torchscript, the file) to write
  std::string format = "folder";  ///< "folder" (model.json + weights.pt) or "torchscript" (one .pt file)
  bool force = false;          ///< replace a model already there
  std::string quantize;        ///< "int8": dynamic int8 linear layers (TorchScript only); empty: none
  std::optional<double> prune; ///< the fraction of each layer's smallest weights to zero
  int prune_epochs = 0;        ///< fine-tuning epochs after pruning, pruned weights held at zero
};

struct PredictArgs {
  std::string model;  ///< --model: a saved model's folder
  std::string data;   ///< --data: the file to predict
  std::optional<long long> limit;  ///< print at most this many predictions (metrics cover all)
  bool json = false;
};

int export_command(const ModelExportArgs& args);
int predict_command(const PredictArgs& args);

class ModelCommands final : public CommandGroup {
 public:
  explicit ModelCommands(CLI::App& app);
  std::optional<int> run() const override;

 private:
  ModelExportArgs export_args_;
  PredictArgs predict_args_;
  CLI::App* export_ = nullptr;
  CLI::App* predict_ = nullptr;
};

}  // namespace lepton::cli
