// The one pattern every `lepton` subcommand follows: a group of related commands registers its
// options on the CLI11 app when constructed, and runs the one that was given.
#pragma once

#include <lepton/config.hpp>

#include <optional>
#include <string>

namespace lepton::cli {

class CommandGroup {
 public:
  virtual ~CommandGroup() = default;
  /// Runs the group's command that was given: its exit code, or nothing when none of them was.
  virtual std::optional<int> run() const = 0;
  /// What an error message about bad input starts with (the experiment file a run read, say).
  virtual std::string input_of(const ConfigError&) const { return ""; }
};

/// A `--config` option's JSON object, given inline or as @file; an empty option is an empty object.
/// Throws ConfigError at "--config".
json read_config_option(const std::string& config);

}  // namespace lepton::cli
