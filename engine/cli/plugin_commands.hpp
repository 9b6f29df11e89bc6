// `lepton plugins [list|inspect|check]`: what plugins were found, what a plugin file is, and
// whether plugins keep their contract (the conformance kit).
#pragma once

#include "cli/command_group.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace lepton::cli {

int plugins_list_command(bool json);
int plugins_inspect_command(const std::string& file, bool json);
/// `plugins check FILE...`: `config` is a JSON object (or @file holding one) merged over each
/// manifest's "conformance" settings.
int plugins_check_command(const std::vector<std::string>& files, const std::string& config, bool json);

class PluginCommands final : public CommandGroup {
 public:
  explicit PluginCommands(CLI::App& app);
  std::optional<int> run() const override;

 private:
  bool json_ = false;
  std::string inspect_file_;
  std::vector<std::string> check_files_;
  std::string check_config_;
  CLI::App* plugins_ = nullptr;
  CLI::App* inspect_ = nullptr;
  CLI::App* check_ = nullptr;
};

}  // namespace lepton::cli
