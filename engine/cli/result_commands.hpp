// The commands that show and share results: `report` (HTML), `compare` (two studies side by side)
// and `export-trials` (CSV, JSON, Optuna journal). They register themselves on the CLI11 app, so
// main() only adds one line to create them and one to run them.
#pragma once

#include "cli/command_group.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace lepton::cli {

struct ReportArgs {
  std::string storage, study, output;
};

struct CompareArgs {
  std::string storage, storage_b, study_a, study_b;
  bool json = false;
};

struct ExportArgs {
  std::string storage, study, format = "csv", output;
};

int report_command(const ReportArgs& args);
int compare_command(const CompareArgs& args);
int export_trials_command(const ExportArgs& args);

class ResultCommands final : public CommandGroup {
 public:
  explicit ResultCommands(CLI::App& app);
  std::optional<int> run() const override;

 private:
  ReportArgs report_args_;
  CompareArgs compare_args_;
  ExportArgs export_args_;
  CLI::App* report_ = nullptr;
  CLI::App* compare_ = nullptr;
  CLI::App* export_ = nullptr;
};

}  // namespace lepton::cli
