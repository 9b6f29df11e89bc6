// Reading a plugin's build stamp (written by LEPTON_PLUGIN) from its file, without loading it.
#pragma once

#include <lepton/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace lepton::engine {

/// Every plugin kind this engine knows.
inline constexpr PluginKind kPluginKinds[] = {PluginKind::kSearcher, PluginKind::kModel, PluginKind::kDataset,
                                              PluginKind::kMetric};

/// The kind a plugin's stamp or manifest names ("searcher", "model", "dataset", "metric"); nothing
/// for any other text. The engine reads kinds from text here and compares PluginKind values after.
std::optional<PluginKind> parse_plugin_kind(const std::string& text);

/// What a plugin library says about itself in its build stamp.
struct PluginStamp {
  std::uint32_t abi = 0;
  std::optional<PluginKind> kind;  ///< nothing when the stamp names a kind this engine does not know
  std::string name, version, fingerprint;
};

/// Parses the stamp text (`lepton-plugin-stamp/1|abi=<LEPTON_ABI_VERSION>|kind=...|`); nothing when
/// it is malformed.
std::optional<PluginStamp> parse_stamp(const std::string& text);

/// Finds and parses the stamp in the file's bytes: no plugin code runs. Nothing when the file has
/// none (a library not built with LEPTON_PLUGIN, or built with an SDK older than ABI 2, the first
/// to write stamps).
std::optional<PluginStamp> read_stamp(const std::string& library_file);

}  // namespace lepton::engine
