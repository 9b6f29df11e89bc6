// The `lepton` subcommands: each a function from parsed options to an exit code.
#pragma once

#include <optional>
#include <string>

namespace lepton::cli {

struct RunArgs {
  std::string experiment;  ///< run: the experiment file
  std::string storage;     ///< --storage; empty: the experiment's, else the default
  std::string study;       ///< --study; empty: the experiment's name
  std::optional<int> trials, parallel;
  bool quiet = false;
};

struct QueryArgs {
  std::string storage;
  std::string study;
  std::string sort;
  std::optional<int> top;
  std::string state;
  bool json = false;
};

int run_command(const RunArgs& args);
int resume_command(const RunArgs& args);
int studies_command(const QueryArgs& args);
int trials_command(const QueryArgs& args);
int best_command(const QueryArgs& args);
int plugins_list_command(bool json);
int plugins_inspect_command(const std::string& file, bool json);

}  // namespace lepton::cli
