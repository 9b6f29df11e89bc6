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
};

struct QueryArgs {
  std::string storage;
  std::string study;
  std::string sort;
  std::optional<int> top;
  std::string state;
  bool json = false;
};

/// The study named `name`, or a ConfigError (exit 2) listing the studies there, with a suggestion.
engine::StudyRecord require_study(engine::Store& store, const std::string& name);

int run_command(const RunArgs& args);
int resume_command(const RunArgs& args);
int studies_command(const QueryArgs& args);
int trials_command(const QueryArgs& args);
int best_command(const QueryArgs& args);

// `lepton plugins ...` (cli/plugin_commands.cpp)
int plugins_list_command(bool json);
int plugins_inspect_command(const std::string& file, bool json);
/// `plugins check FILE...`: `config` is a JSON object (or @file holding one) merged over each
/// manifest's "conformance" settings.
int plugins_check_command(const std::vector<std::string>& files, const std::string& config, bool json);

}  // namespace lepton::cli
