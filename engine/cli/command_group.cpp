// Helpers shared by the command groups.
#include "cli/command_group.hpp"

#include <fstream>
#include <iterator>

namespace lepton::cli {

json read_config_option(const std::string& config) {
  if (config.empty()) return json::object();
  std::string text = config;
  if (config[0] == '@') {
    std::ifstream in(config.substr(1));
    if (!in) throw ConfigError("--config", "cannot read " + config.substr(1));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception& e) {
    throw ConfigError("--config", std::string("expected a JSON object: ") + e.what());
  }
  if (!value.is_object()) throw ConfigError("--config", "expected a JSON object, got " + describe_json(value));
  return value;
}

}  // namespace lepton::cli
