// The plugin registry: finds plugin libraries, checks them, registers what they provide.
#pragma once

#include "spec/parameters.hpp"

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
  std::string kind;          ///< "searcher", "model", "dataset"; empty when unknown
  std::string name;          ///< registered name; empty when unknown
  std::string version;
  std::string fingerprint;
  bool loaded = false;       ///< true when checks and registration succeeded
  std::string error;         ///< why it was refused, when not loaded
  json manifest;             ///< <file stem>.plugin.json beside the library, or null
  ParamSchema parameters;    ///< the manifest's "parameters"
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
  static std::vector<std::string> default_search_path();

  /// Loads every `*.so` in `folder` (not recursive), in name order. A bad library gives a record
  /// with its error and never stops the scan.
  void load_folder(const std::string& folder);
  /// Loads one library; returns its record.
  const PluginRecord& load_file(const std::string& file);
  /// Loads the default search path.
  void load_default();

  /// Every library tried, in load order.
  const std::vector<PluginRecord>& records() const noexcept { return records_; }

  /// The plugin of `kind` named `name`, or a ConfigError at `path` listing the available ones
  /// (and the load error when a library of that name was refused).
  const PluginRecord& require(PluginKind kind, const std::string& name, const std::string& path) const;

  const Model& model(const std::string& name) const;
  const Dataset& dataset(const std::string& name) const;
  const SearcherFactory& searcher(const std::string& name) const;

 private:
  class Collector;
  struct Entry;
  const Entry* find(PluginKind kind, const std::string& name) const;

  std::vector<PluginRecord> records_;
  std::map<std::pair<PluginKind, std::string>, std::unique_ptr<Entry>> entries_;
};

}  // namespace lepton::engine
