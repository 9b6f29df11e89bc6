// The plugin registry: finds plugin libraries, checks them, registers what they provide.
#pragma once

#include "plugins/stamp.hpp"
#include "experiment/parameters.hpp"

#include <lepton/model.hpp>
#include <lepton/plugin.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// What the registry knows of one library it tried to load.
struct PluginRecord {
  std::string file;          ///< the library's path
  std::optional<PluginKind> kind;  ///< nothing when unknown
  std::string name;          ///< registered name; empty when unknown
  std::string version;
  std::string fingerprint;
  std::uint32_t abi = 0;     ///< the ABI it was built for; 0 when unknown
  bool stamped = false;      ///< identity read from the file's build stamp (no code ran for it)
  /// Where it was found: "build", "installed", "LEPTON_PLUGIN_PATH", "pack <name>" or "file".
  std::string origin;
  bool loaded = false;       ///< true when checks and registration succeeded
  std::string error;         ///< why it was refused, when not loaded
  json manifest;             ///< <file stem>.plugin.json beside the library, or null
  ParamSchema parameters;    ///< the manifest's "parameters"
  std::vector<DeclaredMetric> metrics;  ///< metric plugins: the manifest's "metrics"

  /// The kind as text ("searcher", ...), or "" when unknown.
  std::string kind_name() const { return kind ? to_string(*kind) : ""; }
};

/// A domain pack: a folder of plugins, experiments and data with a `pack.json` manifest.
struct PackRecord {
  std::string folder;
  std::string name, version, description;
  std::vector<std::string> experiments;  ///< paths relative to the folder
  std::vector<std::string> plugins;      ///< the plugin names the manifest promises
  std::string error;                     ///< a bad manifest or a promised plugin that is missing
};

/// A folder to search for plugins, and what `plugins list` calls it.
struct PluginFolder {
  std::string path;
  std::string origin;
};

/// Loads plugin libraries once, from one thread, at start-up, and keeps them loaded for the life of
/// the process: networks, tensors and autograd nodes a plugin made point into its code.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The folders searched by default: the build's (or installation's) plugin folder beside the
  /// engine library, then each folder of LEPTON_PLUGIN_PATH (colon-separated).
  static std::vector<PluginFolder> default_folders();
  /// The paths of default_folders().
  static std::vector<std::string> default_search_path();

  /// Loads every `*.so` in `folder` (not recursive), in name order, with `origin` in their records.
  /// A folder holding `pack.json` is a domain pack (origin "pack <name>"); packs in its
  /// subfolders are loaded too, so LEPTON_PLUGIN_PATH may name a pack or a folder of packs. A bad
  /// library gives a record with its error and never stops the scan.
  void load_folder(const std::string& folder, const std::string& origin = "LEPTON_PLUGIN_PATH");
  /// Loads one library; returns its record. Checks the build stamp in the file (ABI, fingerprint)
  /// before loading it, so a library built for another engine runs none of its code.
  const PluginRecord& load_file(const std::string& file, const std::string& origin = "file");
  /// Loads the default search path.
  void load_default();

  /// What can be known of a plugin file without loading it: its build stamp and manifest, and
  /// why this engine would refuse it (in `error`). Never runs plugin code; `loaded` stays false.
  static PluginRecord describe(const std::string& file, const std::string& origin = "file");

  /// Every library tried, in load order.
  const std::vector<PluginRecord>& records() const noexcept { return records_; }
  /// Every pack found, in load order.
  const std::vector<PackRecord>& packs() const noexcept { return packs_; }

  /// The plugin of `kind` named `name`, or a ConfigError at `path` listing the available ones
  /// (and the load error when a library of that name was refused).
  const PluginRecord& require(PluginKind kind, const std::string& name, const std::string& path) const;

  const Model& model(const std::string& name) const;
  const Dataset& dataset(const std::string& name) const;
  const SearcherFactory& searcher(const std::string& name) const;
  const MetricFactory& metric(const std::string& name) const;

 private:
  class Collector;
  struct Entry;
  const Entry* find(PluginKind kind, const std::string& name) const;
  void load_pack(const std::string& folder);
  void load_libraries(const std::string& folder, const std::string& origin);

  std::vector<PluginRecord> records_;
  std::vector<PackRecord> packs_;
  std::map<std::pair<PluginKind, std::string>, std::unique_ptr<Entry>> entries_;
};

}  // namespace lepton::engine
