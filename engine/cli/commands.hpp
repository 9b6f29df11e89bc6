// The `lepton` subcommands: each a function from parsed options to an exit code.
#pragma once

#include "store/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lepton::cli {

struct RunArgs {
  std::string experiment;  ///< run: the experiment file
  std::string storage;     ///< --storage; empty: the experiment's, else the default
  std::string study;       ///< --study; empty: the experiment's name
  std::optional<int> trials, parallel;
  bool quiet = false;
  bool json = false;  ///< progress as JSON events on stdout, no table
  std::string isolation;   ///< --isolation; empty: the experiment's
  double wait = 60;        ///< worker: seconds to wait for the study to appear
};

struct QueryArgs {
  std::string storage;
  std::string study;
  std::string sort;
  std::optional<int> top;
  std::string state;
  std::string group_by;  ///< trials: rank groups of trials by this parameter's value (e.g. model)
  bool json = false;
};

/// The study named `name`, or a ConfigError (exit 2) listing the studies there, with a suggestion.
engine::StudyRecord require_study(engine::Store& store, const std::string& name);

int run_command(const RunArgs& args);
int resume_command(const RunArgs& args);
int worker_command(const RunArgs& args);
int doctor_command(const QueryArgs& args);
int trial_process_command(long parent_pid);
int studies_command(const QueryArgs& args);
int trials_command(const QueryArgs& args);
int best_command(const QueryArgs& args);

}  // namespace lepton::cli
