// `lepton data inspect`: what Lepton will see in a data file, without running anything.
#pragma once

#include "cli/command_group.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace lepton::cli {

struct DataInspectArgs {
  std::string path;    ///< a file (or folder) as a dataset section's "path" would name it
  std::string plugin;  ///< empty: chosen by the file's extension
  std::string label;   ///< the label column; empty: the plugin's default
  std::string config;  ///< more dataset settings: a JSON object, or @file holding one
  bool json = false;
};

int data_inspect_command(const DataInspectArgs& args);

class DataCommands final : public CommandGroup {
 public:
  explicit DataCommands(CLI::App& app);
  std::optional<int> run() const override;

 private:
  DataInspectArgs args_;
  CLI::App* inspect_ = nullptr;
};

}  // namespace lepton::cli
