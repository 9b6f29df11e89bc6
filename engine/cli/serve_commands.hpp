// `lepton serve`: exported models behind an HTTP endpoint until Ctrl-C or SIGTERM.
#pragma once

#include "cli/command_group.hpp"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lepton::cli {

struct ServeArgs {
  std::vector<std::string> models;  ///< --model [NAME=]PATH, repeatable
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 32;
  int max_batch = 64;
  double max_delay_ms = 2;
  std::uint64_t max_body = 64'000'000;
};

int serve_command(const ServeArgs& args);

class ServeCommands final : public CommandGroup {
 public:
  explicit ServeCommands(CLI::App& app);
  std::optional<int> run() const override;

 private:
  ServeArgs args_;
  CLI::App* serve_ = nullptr;
};

}  // namespace lepton::cli
