// The commands that run studies (`run`, `resume`, `worker` and the internal `__trial`) and those
// that read a store (`doctor`, `studies`, `trials`, `best`), registered on the CLI11 app.
#pragma once

#include "cli/command_group.hpp"
#include "cli/commands.hpp"

#include <CLI/CLI.hpp>

namespace lepton::cli {

class StudyCommands final : public CommandGroup {
 public:
  explicit StudyCommands(CLI::App& app);
  std::optional<int> run() const override;
  std::string input_of(const ConfigError& error) const override;

 private:
  RunArgs run_args_, resume_args_, worker_args_;
  long trial_parent_ = 0;
  int trial_number_ = 0;
  CLI::App* run_ = nullptr;
  CLI::App* resume_ = nullptr;
  CLI::App* worker_ = nullptr;
  CLI::App* trial_ = nullptr;
};

class StoreCommands final : public CommandGroup {
 public:
  explicit StoreCommands(CLI::App& app);
  std::optional<int> run() const override;

 private:
  QueryArgs doctor_args_, studies_args_, trials_args_, best_args_;
  CLI::App* doctor_ = nullptr;
  CLI::App* studies_ = nullptr;
  CLI::App* trials_ = nullptr;
  CLI::App* best_ = nullptr;
};

}  // namespace lepton::cli
