// Reading a plugin's build stamp (written by LEPTON_PLUGIN) from its file, without loading it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lepton::engine {

/// What a plugin library says about itself in its build stamp.
struct PluginStamp {
  std::uint32_t abi = 0;
  std::string kind, name, version, fingerprint;
};

/// Parses the stamp text (`lepton-plugin-stamp/1|abi=2|kind=...|`); nothing when it is malformed.
std::optional<PluginStamp> parse_stamp(const std::string& text);

/// Finds and parses the stamp in the file's bytes: no plugin code runs. Nothing when the file has
/// none (a library not built with LEPTON_PLUGIN, or built with an SDK older than ABI 2).
std::optional<PluginStamp> read_stamp(const std::string& library_file);

}  // namespace lepton::engine
