// `lepton plugins list | inspect | check`: what was found and where, what a file says about itself
// (without running it), and whether a plugin keeps its contract.
#include "cli/plugin_commands.hpp"

#include "conformance/conformance.hpp"
#include "plugins/registry.hpp"
#include "report/table.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace lepton::cli {

using namespace lepton::engine;
namespace fs = std::filesystem;

namespace {

std::string description_of(const PluginRecord& r) {
  return r.manifest.is_object() ? r.manifest.value("description", "") : "";
}

// A table cell of at most `width` characters (`inspect` and --json give the whole text).
std::string shortened(const std::string& text, std::size_t width = 64) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

json record_to_json(const PluginRecord& r) {
  json metrics = json::object();
  for (const auto& m : r.metrics) metrics[m.name] = {{"direction", to_string(m.direction)}, {"description", m.description}};
  return {{"kind", r.kind_name()},
          {"name", r.name},
          {"version", r.version},
          {"abi", r.abi},
          {"fingerprint", r.fingerprint},
          {"origin", r.origin},
          {"loaded", r.loaded},
          {"status", r.loaded ? "ok" : "refused"},
          {"error", r.error},
          {"file", r.file},
          {"description", description_of(r)},
          {"parameters", r.parameters.to_json()},
          {"metrics", metrics}};
}

// Where data files named by a plugin's "conformance" settings are looked up: the working
// directory, the plugin's folder, its pack's folder, and the installation's data (share/lepton).
std::vector<std::string> check_data_dirs(const std::string& file) {
  std::vector<std::string> dirs{fs::current_path().string()};
  const fs::path folder = fs::absolute(file).parent_path();
  dirs.push_back(folder.string());
  std::error_code ec;
  if (fs::is_regular_file(folder.parent_path() / "pack.json", ec)) dirs.push_back(folder.parent_path().string());
  const fs::path engine_dir = boost::dll::this_line_location().parent_path();
  dirs.push_back((engine_dir.parent_path() / "share" / "lepton").lexically_normal().string());
  return dirs;
}

// The plugin libraries FILES names: files as given, folders (and packs inside them) expanded.
std::vector<std::string> expand_plugin_files(const std::vector<std::string>& files) {
  std::vector<std::string> out;
  for (const auto& given : files) {
    std::error_code ec;
    if (fs::is_regular_file(given, ec)) {
      out.push_back(given);
      continue;
    }
    if (!fs::is_directory(given, ec)) throw ConfigError("FILE", "no such plugin file or folder: " + given);
    std::vector<std::string> found;
    for (const auto& item : fs::recursive_directory_iterator(given, ec))
      if (item.path().extension() == ".so" && item.is_regular_file(ec)) found.push_back(item.path().string());
    std::sort(found.begin(), found.end());
    if (found.empty()) throw ConfigError("FILE", "no plugin libraries (*.so) in " + given);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace

int plugins_list_command(bool as_json) {
  Registry registry;
  registry.load_default();
  if (as_json) {
    json plugins = json::array(), packs = json::array(), folders = json::array();
    for (const auto& r : registry.records()) plugins.push_back(record_to_json(r));
    for (const auto& p : registry.packs())
      packs.push_back({{"name", p.name},
                       {"version", p.version},
                       {"description", p.description},
                       {"folder", p.folder},
                       {"plugins", p.plugins},
                       {"experiments", p.experiments},
                       {"error", p.error}});
    for (const auto& f : Registry::default_folders()) folders.push_back({{"path", f.path}, {"origin", f.origin}});
    std::cout << json{{"search_path", Registry::default_search_path()}, {"folders", folders}, {"plugins", plugins},
                      {"packs", packs}}
                     .dump(2)
              << std::endl;
    return 0;
  }
  std::cout << "Plugin folders searched:";
  for (const auto& folder : Registry::default_folders()) std::cout << "\n  " << folder.path << "  (" << folder.origin << ")";
  std::cout << "\n\n";
  TextTable table({"kind", "name", "version", "origin", "status", "description", "file"});
  for (const auto& r : registry.records())
    table.add_row({r.kind ? r.kind_name() : "?", r.name.empty() ? "?" : r.name, r.version.empty() ? "-" : r.version,
                   r.origin, r.loaded ? "ok" : "refused", shortened(description_of(r)), fs::path(r.file).filename().string()});
  if (table.empty()) {
    std::cout << "no plugins found" << std::endl;
  } else {
    table.print(std::cout);
  }
  if (!registry.packs().empty()) {
    std::cout << "\nPacks:\n";
    TextTable packs({"pack", "version", "status", "plugins", "experiments", "folder"});
    for (const auto& p : registry.packs()) {
      std::string plugins, experiments;
      for (const auto& n : p.plugins) plugins += (plugins.empty() ? "" : ", ") + n;
      for (const auto& e : p.experiments) experiments += (experiments.empty() ? "" : ", ") + e;
      packs.add_row({p.name, p.version, p.error.empty() ? "ok" : "incomplete", plugins, experiments, p.folder});
    }
    packs.print(std::cout);
  }
  bool header = false;
  auto problem = [&](const std::string& message) {
    if (!header) std::cout << "\nRefused:\n";
    header = true;
    std::cout << "  " << message << "\n";
  };
  for (const auto& r : registry.records())
    if (!r.loaded) problem(r.error);
  for (const auto& p : registry.packs())
    if (!p.error.empty()) problem(p.error);
  if (registry.records().empty() || header) std::cout << "\nLEPTON_PLUGIN_PATH adds folders (or packs); "
                                                         "`lepton plugins check FILE` tests one plugin's contract.\n";
  return 0;
}

int plugins_inspect_command(const std::string& file, bool as_json) {
  std::string library = file;
  if (library.size() > 12 && library.compare(library.size() - 12, 12, ".plugin.json") == 0)
    library = library.substr(0, library.size() - 12) + ".so";
  if (!fs::is_regular_file(library)) throw ConfigError("FILE", "no such plugin file: " + library);
  PluginRecord r = Registry::describe(library);
  std::string source = "build stamp in the file (no plugin code ran)";
  if (!r.stamped && r.error.empty()) {
    // Built without LEPTON_PLUGIN's stamp (hand-written entry or an SDK before ABI 2): only
    // loading it can tell what it is.
    Registry registry;
    r = registry.load_file(library);
    source = "no build stamp: read by loading the library";
  }
  const bool compatible = r.error.empty();
  const std::string status = compatible ? "compatible with this engine (ABI " + std::to_string(kAbiVersion) + ")"
                                        : "refused: " + r.error;
  if (as_json) {
    json out = record_to_json(r);
    out["stamped"] = r.stamped;
    out["compatible"] = compatible;
    out["engine_abi"] = kAbiVersion;
    out["engine_fingerprint"] = engine_build_fingerprint();
    out["manifest"] = r.manifest;
    std::cout << out.dump(2) << std::endl;
    return compatible ? 0 : 2;
  }
  const fs::path manifest_file = fs::path(r.file).replace_extension(".plugin.json");
  std::cout << "file         " << r.file << "\nkind         " << r.kind_name() << "\nname         " << r.name
            << "\nversion      " << r.version << "\nabi          " << r.abi << "\nfingerprint  " << r.fingerprint
            << "\nidentity     " << source << "\nmanifest     "
            << (r.manifest.is_object() ? manifest_file.string() : std::string("none")) << "\nstatus       " << status
            << "\n";
  if (!description_of(r).empty()) std::cout << "description  " << description_of(r) << "\n";
  if (!r.parameters.rules().empty()) {
    std::cout << "\nParameters:\n";
    TextTable params({"name", "type", "range or choices", "default", "description"});
    for (const auto& p : r.parameters.rules()) {
      std::string range;
      if (p.low || p.high)
        range = "[" + (p.low ? format_number(*p.low) : std::string("-inf")) + ", " +
                (p.high ? format_number(*p.high) : std::string("inf")) + "]";
      for (const auto& c : p.choices) range += (range.empty() ? "" : ", ") + format_value(c);
      params.add_row({p.name, p.type, range, p.default_value.is_null() ? "-" : p.default_value.dump(), p.description});
    }
    params.print(std::cout);
  }
  if (!r.metrics.empty()) {
    std::cout << "\nMetrics (stored as val_<name> and test_<name>):\n";
    TextTable metrics({"name", "direction", "description"});
    for (const auto& m : r.metrics) metrics.add_row({m.name, to_string(m.direction), m.description});
    metrics.print(std::cout);
  }
  return compatible ? 0 : 2;
}

int plugins_check_command(const std::vector<std::string>& files, const std::string& config, bool as_json) {
  ConformanceOptions options;
  options.overrides = read_config_option(config);
  const auto libraries = expand_plugin_files(files);
  json out = json::array();
  int failed_plugins = 0;
  for (const auto& library : libraries) {
    options.data_dirs = check_data_dirs(library);
    const ConformanceReport report = check_plugin(library, options);
    if (!report.passed()) ++failed_plugins;
    if (as_json) {
      json checks = json::array();
      for (const auto& c : report.checks)
        checks.push_back({{"check", c.name}, {"status", to_string(c.status)}, {"detail", c.detail}});
      out.push_back({{"file", report.plugin.file},
                     {"kind", report.plugin.kind_name()},
                     {"name", report.plugin.name},
                     {"version", report.plugin.version},
                     {"passed", report.passed()},
                     {"settings", report.settings},
                     {"checks", checks}});
      continue;
    }
    const auto& p = report.plugin;
    std::cout << (p.kind ? p.kind_name() : "plugin") << " " << (p.name.empty() ? "?" : p.name) << " "
              << p.version << "  (" << p.file << ")\n";
    TextTable table({"result", "check", "detail"});
    int passed = 0;
    for (const auto& c : report.checks) {
      table.add_row({to_string(c.status), c.name, c.detail});
      passed += c.status == CheckStatus::kPass ? 1 : 0;
    }
    table.print(std::cout);
    std::cout << passed << " of " << report.checks.size() << " checks passed"
              << (report.passed() ? "" : ": the plugin does not keep its contract") << "\n\n";
  }
  if (as_json) {
    std::cout << json{{"passed", failed_plugins == 0}, {"plugins", out}}.dump(2) << std::endl;
  } else if (libraries.size() > 1) {
    std::cout << libraries.size() - static_cast<std::size_t>(failed_plugins) << " of " << libraries.size()
              << " plugins passed\n";
  }
  return failed_plugins == 0 ? 0 : 1;
}

PluginCommands::PluginCommands(CLI::App& app) {
  plugins_ = app.add_subcommand("plugins", "List, inspect and check plugins");
  plugins_->require_subcommand(0, 1);
  plugins_->add_flag("--json", json_, "Print one JSON document");
  plugins_->footer(R"(
Examples:
  lepton plugins                                   # every plugin and pack found, with origin and status
  lepton plugins inspect build/lib/lepton/plugins/mlp.so
  lepton plugins check build/lib/lepton/plugins    # the conformance kit on every plugin there
  LEPTON_PLUGIN_PATH=build/packs lepton plugins list)");
  auto* list = plugins_->add_subcommand("list", "Every plugin and pack found, with origin and status (the default)");
  list->add_flag("--json", json_, "Print one JSON document");
  inspect_ = plugins_->add_subcommand(
      "inspect", "Print a plugin file's identity, build fingerprint and manifest without running its code");
  inspect_->add_option("FILE", inspect_file_, "The plugin library (.so) or its manifest (.plugin.json)")->required();
  inspect_->add_flag("--json", json_, "Print one JSON document");
  inspect_->footer(R"(
Reads the build stamp LEPTON_PLUGIN writes into the library and the manifest beside it, and says
whether this engine would load it (ABI and fingerprint). Exit code 2 when it would refuse it.)");
  check_ = plugins_->add_subcommand("check", "Drive plugins through their contract (the conformance kit)");
  check_->add_option("FILE", check_files_, "Plugin libraries, or folders of them")->required();
  check_->add_option("--config", check_config_,
                     "JSON object (or @file) merged over the manifest's \"conformance\" settings, e.g. "
                     "'{\"config\": {\"path\": \"data/iris.csv\"}}' for a dataset");
  check_->add_flag("--json", json_, "Print one JSON document");
  check_->footer(R"(
Checks, by kind (each PASS or FAIL with the reason):
  searcher  creates from its options, rejects unknown options, proposals inside the space and
            conditions respected over random spaces, deterministic for a seed, resume equivalence
  model     builds for input shapes, output shape, features and head compose, a training step
            lowers the loss, parameter groups present, replace_head, deterministic, defaults accepted
  dataset   loads its example configuration, shapes and types, split sizes add up, no overlap
            between splits, labels in range, features finite, deterministic for a seed
  metric    computes every declared metric, deterministic, order-independent, perfect predictions best
The manifest's "conformance" object gives the settings: "options" (searcher, metric), "params" and
"input_shapes" (model), "config" (dataset), "classes" (metric). Exit code 0 when every check passes.
Examples:
  lepton plugins check build/lib/lepton/plugins/random.so
  lepton plugins check my_dataset.so --config '{"config": {"path": "data/mine.csv"}}')");
}

std::optional<int> PluginCommands::run() const {
  if (!*plugins_) return std::nullopt;
  if (*inspect_) return plugins_inspect_command(inspect_file_, json_);
  if (*check_) return plugins_check_command(check_files_, check_config_, json_);
  return plugins_list_command(json_);
}

}  // namespace lepton::cli
