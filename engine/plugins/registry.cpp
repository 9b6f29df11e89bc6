// Plugin loading with Boost.DLL: every check runs before any plugin code, and each failure says which
// check failed with both values.
#include "plugins/registry.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lepton::engine {

namespace fs = std::filesystem;

struct Registry::Entry {
  std::string file;
  std::unique_ptr<Model> model;
  std::unique_ptr<Dataset> dataset;
  SearcherFactory searcher;
  MetricFactory metric;
};

// Receives what one plugin registers, and checks it registers exactly one object of its kind.
class Registry::Collector final : public Registrar {
 public:
  explicit Collector(PluginKind kind) : kind_(kind) {}
  void add_searcher(SearcherFactory factory) override {
    accept(PluginKind::kSearcher);
    entry.searcher = std::move(factory);
  }
  void add_model(std::unique_ptr<Model> model) override {
    accept(PluginKind::kModel);
    entry.model = std::move(model);
  }
  void add_dataset(std::unique_ptr<Dataset> dataset) override {
    accept(PluginKind::kDataset);
    entry.dataset = std::move(dataset);
  }
  void add_metric(MetricFactory factory) override {
    accept(PluginKind::kMetric);
    entry.metric = std::move(factory);
  }
  bool complete() const { return added_ == 1 && (entry.searcher || entry.model || entry.dataset || entry.metric); }
  Entry entry;

 private:
  void accept(PluginKind kind) {
    if (kind != kind_)
      throw std::runtime_error(std::string("a ") + to_string(kind_) + " plugin registered a " + to_string(kind));
    if (++added_ > 1) throw std::runtime_error(std::string("registered more than one ") + to_string(kind));
  }
  PluginKind kind_;
  int added_ = 0;
};

Registry::Registry() = default;
Registry::~Registry() = default;

std::vector<PluginFolder> Registry::default_folders() {
  std::vector<PluginFolder> folders;
  // The engine library sits in <prefix>/lib (build tree: build/lib); plugins in lib/lepton/plugins.
  const fs::path engine_dir = boost::dll::this_line_location().parent_path();
  std::error_code ec;
  const bool build_tree = fs::exists(engine_dir.parent_path() / "CMakeCache.txt", ec);
  folders.push_back({(engine_dir / "lepton" / "plugins").lexically_normal().string(), build_tree ? "build" : "installed"});
  if (const char* extra = std::getenv("LEPTON_PLUGIN_PATH")) {
    std::stringstream list(extra);
    std::string folder;
    while (std::getline(list, folder, ':'))
      if (!folder.empty()) folders.push_back({fs::absolute(folder).lexically_normal().string(), "LEPTON_PLUGIN_PATH"});
  }
  return folders;
}

std::vector<std::string> Registry::default_search_path() {
  std::vector<std::string> paths;
  for (const auto& folder : default_folders()) paths.push_back(folder.path);
  return paths;
}

void Registry::load_default() {
  for (const auto& folder : default_folders()) load_folder(folder.path, folder.origin);
}

void Registry::load_folder(const std::string& folder, const std::string& origin) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return;
  if (fs::is_regular_file(fs::path(folder) / "pack.json", ec)) return load_pack(folder);
  load_libraries(folder, origin);
  std::vector<fs::path> packs;
  for (const auto& item : fs::directory_iterator(folder, ec))
    if (item.is_directory(ec) && fs::is_regular_file(item.path() / "pack.json", ec)) packs.push_back(item.path());
  std::sort(packs.begin(), packs.end());
  for (const auto& pack : packs) load_pack(pack.string());
}

void Registry::load_libraries(const std::string& folder, const std::string& origin) {
  std::error_code ec;
  std::vector<fs::path> libraries;
  for (const auto& item : fs::directory_iterator(folder, ec))
    if (item.path().extension() == ".so" && item.is_regular_file(ec)) libraries.push_back(item.path());
  std::sort(libraries.begin(), libraries.end());
  for (const auto& library : libraries) load_file(library.string(), origin);
}

void Registry::load_pack(const std::string& folder) {
  const std::string path = fs::absolute(folder).lexically_normal().string();
  for (const auto& known : packs_)
    if (known.folder == path) return;  // named twice in the search path
  PackRecord pack;
  pack.folder = path;
  const fs::path manifest = fs::path(path) / "pack.json";
  try {
    std::ifstream in(manifest);
    const json document = json::parse(in);
    ConfigObject cfg(document, manifest.string());
    pack.name = cfg.required<std::string>("name");
    pack.version = cfg.required<std::string>("version");
    pack.description = cfg.optional<std::string>("description", "");
    pack.plugins = cfg.optional<json>("plugins", json::array()).get<std::vector<std::string>>();
    pack.experiments = cfg.optional<json>("experiments", json::array()).get<std::vector<std::string>>();
    cfg.allow({"data", "homepage", "license"});
    cfg.finish();
  } catch (const std::exception& e) {
    pack.error = std::string("pack ") + path + ": " + e.what();
    if (pack.name.empty()) pack.name = fs::path(path).filename().string();
  }
  const std::size_t first = records_.size();
  load_libraries(path, "pack " + pack.name);
  for (const auto& promised : pack.plugins) {
    const bool found = std::any_of(records_.begin() + static_cast<std::ptrdiff_t>(first), records_.end(),
                                   [&](const PluginRecord& r) { return r.name == promised; });
    if (!found && pack.error.empty())
      pack.error = "pack " + pack.name + ": its manifest lists plugin \"" + promised + "\", but " + path +
                   " holds no library that provides it; build the pack (cmake --build) or copy the plugin there";
  }
  packs_.push_back(std::move(pack));
}

namespace {

json read_manifest(const fs::path& library, std::string& error) {
  fs::path manifest = library;
  manifest.replace_extension(".plugin.json");
  std::ifstream in(manifest);
  if (!in) return nullptr;
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    error = "manifest " + manifest.filename().string() + " is not valid JSON: " + e.what();
    return nullptr;
  }
}

std::string abi_mismatch(const std::string& label, std::uint32_t plugin_abi) {
  return label + ": built for ABI " + std::to_string(plugin_abi) + ", engine has ABI " + std::to_string(kAbiVersion) +
         "; rebuild the plugin against this Lepton SDK";
}

std::string fingerprint_mismatch(const std::string& label, const std::string& fingerprint) {
  return label + ": built with \"" + fingerprint + "\", engine built with \"" + engine_build_fingerprint() +
         "\"; rebuild the plugin with the same compiler and LibTorch";
}

std::string dlopen_error(const std::string& file) {
  // Boost.DLL clears dlerror(); a second attempt recovers the loader's own explanation.
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle) {
    dlclose(handle);
    return "unknown loader error";
  }
  const char* message = dlerror();
  return message ? message : "unknown loader error";
}

// The checks of a record against its manifest, from the stamp or from the loaded library.
std::string manifest_problem(const PluginRecord& record, const std::string& label) {
  if (record.kind == PluginKind::kMetric && record.metrics.empty())
    return label + ": a metric plugin's manifest must declare its metrics, e.g. \"metrics\": "
                   "{\"sensitivity\": {\"direction\": \"maximize\"}} in " +
           fs::path(record.file).replace_extension(".plugin.json").filename().string();
  if (!record.manifest.is_object()) return "";
  const auto says = [&](const char* key, const std::string& library_says) {
    return label + ": its manifest says " + key + " " + record.manifest.value(key, json()).dump() +
           ", the library says \"" + library_says + "\"";
  };
  if (record.manifest.value("name", json()) != record.name) return says("name", record.name);
  const json kind = record.manifest.value("kind", json());
  if (!kind.is_string() || parse_plugin_kind(kind.get<std::string>()) != record.kind) return says("kind", record.kind_name());
  if (record.manifest.value("version", json()) != record.version) return says("version", record.version);
  // Stamped by lepton_add_plugin(); a manifest copied from another build would mislead `inspect`.
  if (record.manifest.contains("abi") && record.manifest["abi"] != record.abi)
    return label + ": its manifest says abi " + record.manifest["abi"].dump() + ", the library says " +
           std::to_string(record.abi) + "; the manifest is from another build";
  if (record.manifest.contains("fingerprint") && record.manifest["fingerprint"] != record.fingerprint)
    return label + ": its manifest says fingerprint " + record.manifest["fingerprint"].dump() + ", the library says \"" +
           record.fingerprint + "\"; the manifest is from another build";
  return "";
}

}  // namespace

PluginRecord Registry::describe(const std::string& file, const std::string& origin) {
  PluginRecord record;
  record.file = fs::absolute(file).lexically_normal().string();
  record.origin = origin;
  const std::string label = "plugin " + fs::path(file).filename().string();
  std::string manifest_error;
  record.manifest = read_manifest(record.file, manifest_error);
  if (!manifest_error.empty()) {
    record.error = label + ": " + manifest_error;
    return record;
  }
  try {
    if (record.manifest.is_object() && record.manifest.contains("parameters"))
      record.parameters = ParamSchema::parse(record.manifest["parameters"], "parameters");
    if (record.manifest.is_object() && record.manifest.contains("metrics"))
      record.metrics = parse_declared_metrics(record.manifest["metrics"], "metrics");
  } catch (const ConfigError& e) {
    record.error = label + ": manifest: " + e.what();
    return record;
  }
  // The build stamp answers the ABI and fingerprint checks before any of the plugin's code runs
  // (loading a library runs its static initializers, which may need another LibTorch).
  if (const auto stamp = read_stamp(record.file)) {
    record.stamped = true;
    record.abi = stamp->abi;
    record.kind = stamp->kind;
    record.name = stamp->name;
    record.version = stamp->version;
    record.fingerprint = stamp->fingerprint;
    if (stamp->abi != kAbiVersion) {
      record.error = abi_mismatch(label, stamp->abi);
    } else if (stamp->fingerprint != engine_build_fingerprint()) {
      record.error = fingerprint_mismatch(label, stamp->fingerprint);
    } else if (!stamp->kind) {
      record.error = label + ": its build stamp names a plugin kind this engine does not know";
    } else {
      record.error = manifest_problem(record, label);
    }
  }
  return record;
}

const PluginRecord& Registry::load_file(const std::string& file, const std::string& origin) {
  records_.push_back(describe(file, origin));
  PluginRecord& record = records_.back();
  if (!record.error.empty()) return record;
  const std::string label = "plugin " + fs::path(file).filename().string();
  auto refuse = [&](const std::string& why) -> const PluginRecord& {
    record.error = why;
    return record;
  };

  boost::dll::fs::error_code ec;
  // Never unloaded (see the class comment): the library object is deliberately leaked.
  auto* library = new boost::dll::shared_library(record.file, ec, boost::dll::load_mode::rtld_now);
  if (ec) {
    delete library;
    return refuse(label + ": cannot be loaded: " + dlopen_error(record.file));
  }
  if (!library->has("lepton_plugin_info")) {
    return refuse(label + ": no entry point lepton_plugin_info; it is not a Lepton plugin "
                          "(declare one with LEPTON_PLUGIN() from <lepton/plugin.hpp>)");
  }
  const auto& entry_point = library->get_alias<PluginInfoFunction>("lepton_plugin_info");
  const PluginInfo* info = entry_point();
  if (info == nullptr) return refuse(label + ": lepton_plugin_info returned null");
  // The first two fields are the same in every ABI version, so they are safe to read first.
  record.abi = info->abi_version;
  if (info->abi_version != kAbiVersion) return refuse(abi_mismatch(label, info->abi_version));
  if (info->struct_size != sizeof(PluginInfo)) {
    return refuse(label + ": plugin info is " + std::to_string(info->struct_size) + " bytes, engine expects " +
                  std::to_string(sizeof(PluginInfo)) + "; rebuild the plugin against this Lepton SDK");
  }
  record.fingerprint = info->build_fingerprint ? info->build_fingerprint : "";
  if (record.fingerprint != engine_build_fingerprint()) return refuse(fingerprint_mismatch(label, record.fingerprint));
  const auto known = std::find_if(std::begin(kPluginKinds), std::end(kPluginKinds),
                                  [&](PluginKind k) { return static_cast<std::uint32_t>(k) == info->kind; });
  if (known == std::end(kPluginKinds)) return refuse(label + ": unknown plugin kind " + std::to_string(info->kind));
  const PluginKind kind = *known;
  record.kind = kind;
  record.name = info->name ? info->name : "";
  record.version = info->version ? info->version : "";
  if (record.name.empty()) return refuse(label + ": the plugin has no name");
  if (const std::string problem = manifest_problem(record, label); !problem.empty()) return refuse(problem);

  if (const Entry* existing = find(kind, record.name)) {
    return refuse(label + ": " + record.kind_name() + " \"" + record.name + "\" is already provided by " + existing->file +
                  "; rename one of them");
  }
  Collector collector(kind);
  if (const char* failure = info->register_plugin ? info->register_plugin(&collector) : "no registration function")
    return refuse(label + ": registration failed: " + failure);
  if (!collector.complete())
    return refuse(label + ": registration added no " + record.kind_name() + "; call registrar.add_" + record.kind_name() + "()");
  collector.entry.file = record.file;
  entries_[{kind, record.name}] = std::make_unique<Entry>(std::move(collector.entry));
  record.loaded = true;
  return record;
}

const Registry::Entry* Registry::find(PluginKind kind, const std::string& name) const {
  const auto it = entries_.find({kind, name});
  return it == entries_.end() ? nullptr : it->second.get();
}

const PluginRecord& Registry::require(PluginKind kind, const std::string& name, const std::string& path) const {
  for (const auto& record : records_)
    if (record.loaded && record.kind == kind && record.name == name) return record;
  std::vector<std::string> available;
  for (const auto& record : records_)
    if (record.loaded && record.kind == kind) available.push_back(record.name);
  std::string message = std::string("unknown ") + to_string(kind) + " plugin \"" + name + "\"";
  for (const auto& record : records_)
    if (!record.loaded && record.name == name) message += " (a library by that name was refused: " + record.error + ")";
  if (auto near = closest_match(name, available)) message += "; did you mean \"" + *near + "\"?";
  std::string list;
  for (const auto& a : available) list += (list.empty() ? "" : ", ") + a;
  message += "; available: " + (list.empty() ? std::string("none") : list) +
             " (see `lepton plugins list`; LEPTON_PLUGIN_PATH adds folders)";
  throw ConfigError(path, message);
}

const Model& Registry::model(const std::string& name) const {
  const Entry* e = find(PluginKind::kModel, name);
  if (!e) throw std::logic_error("model plugin " + name + " is not loaded");
  return *e->model;
}

const Dataset& Registry::dataset(const std::string& name) const {
  const Entry* e = find(PluginKind::kDataset, name);
  if (!e) throw std::logic_error("dataset plugin " + name + " is not loaded");
  return *e->dataset;
}

const SearcherFactory& Registry::searcher(const std::string& name) const {
  const Entry* e = find(PluginKind::kSearcher, name);
  if (!e) throw std::logic_error("searcher plugin " + name + " is not loaded");
  return e->searcher;
}

const MetricFactory& Registry::metric(const std::string& name) const {
  const Entry* e = find(PluginKind::kMetric, name);
  if (!e) throw std::logic_error("metric plugin " + name + " is not loaded");
  return e->metric;
}

}  // namespace lepton::engine
