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
  bool complete() const { return added_ == 1 && (entry.searcher || entry.model || entry.dataset); }
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

std::vector<std::string> Registry::default_search_path() {
  std::vector<std::string> folders;
  // The engine library sits in <prefix>/lib (build tree: build/lib); plugins in lib/lepton/plugins.
  const fs::path engine_dir = boost::dll::this_line_location().parent_path();
  folders.push_back((engine_dir / "lepton" / "plugins").lexically_normal().string());
  if (const char* extra = std::getenv("LEPTON_PLUGIN_PATH")) {
    std::stringstream list(extra);
    std::string folder;
    while (std::getline(list, folder, ':'))
      if (!folder.empty()) folders.push_back(fs::absolute(folder).lexically_normal().string());
  }
  return folders;
}

void Registry::load_default() {
  for (const auto& folder : default_search_path()) load_folder(folder);
}

void Registry::load_folder(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return;
  std::vector<fs::path> libraries;
  for (const auto& item : fs::directory_iterator(folder, ec))
    if (item.path().extension() == ".so" && item.is_regular_file(ec)) libraries.push_back(item.path());
  std::sort(libraries.begin(), libraries.end());
  for (const auto& library : libraries) load_file(library.string());
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

}  // namespace

const PluginRecord& Registry::load_file(const std::string& file) {
  records_.emplace_back();
  PluginRecord& record = records_.back();
  record.file = fs::absolute(file).lexically_normal().string();
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
                          "(declare one with LEPTON_PLUGIN(kind, name, version) from <lepton/plugin.hpp>)");
  }
  const auto& entry_point = library->get_alias<PluginInfoFunction>("lepton_plugin_info");
  const PluginInfo* info = entry_point();
  if (info == nullptr) return refuse(label + ": lepton_plugin_info returned null");
  // The first two fields are the same in every ABI version, so they are safe to read first.
  if (info->abi_version != kAbiVersion) {
    return refuse(label + ": built for ABI " + std::to_string(info->abi_version) + ", engine has ABI " +
                  std::to_string(kAbiVersion) + "; rebuild the plugin against this Lepton SDK");
  }
  if (info->struct_size != sizeof(PluginInfo)) {
    return refuse(label + ": plugin info is " + std::to_string(info->struct_size) + " bytes, engine expects " +
                  std::to_string(sizeof(PluginInfo)) + "; rebuild the plugin against this Lepton SDK");
  }
  record.fingerprint = info->build_fingerprint ? info->build_fingerprint : "";
  if (record.fingerprint != engine_build_fingerprint()) {
    return refuse(label + ": built with \"" + record.fingerprint + "\", engine built with \"" +
                  engine_build_fingerprint() + "\"; rebuild the plugin with the same compiler and LibTorch");
  }
  const auto kind = static_cast<PluginKind>(info->kind);
  if (std::string(to_string(kind)) == "unknown")
    return refuse(label + ": unknown plugin kind " + std::to_string(info->kind));
  record.kind = to_string(kind);
  record.name = info->name ? info->name : "";
  record.version = info->version ? info->version : "";
  if (record.name.empty()) return refuse(label + ": the plugin has no name");

  std::string manifest_error;
  record.manifest = read_manifest(record.file, manifest_error);
  if (!manifest_error.empty()) return refuse(label + ": " + manifest_error);
  if (record.manifest.is_object()) {
    for (const char* key : {"name", "kind", "version"}) {
      const std::string expected = key == std::string("name") ? record.name
                                   : key == std::string("kind") ? record.kind
                                                                : record.version;
      const json value = record.manifest.value(key, json());
      if (value != expected)
        return refuse(label + ": its manifest says " + key + " " + value.dump() + ", the library says \"" +
                      expected + "\"");
    }
    if (record.manifest.contains("parameters")) {
      try {
        record.parameters = ParamSchema::parse(record.manifest["parameters"], "parameters");
      } catch (const ConfigError& e) {
        return refuse(label + ": manifest: " + e.what());
      }
    }
  }

  if (const Entry* existing = find(kind, record.name)) {
    return refuse(label + ": " + record.kind + " \"" + record.name + "\" is already provided by " + existing->file +
                  "; rename one of them");
  }
  Collector collector(kind);
  if (const char* failure = info->register_plugin ? info->register_plugin(&collector) : "no registration function")
    return refuse(label + ": registration failed: " + failure);
  if (!collector.complete())
    return refuse(label + ": registration added no " + record.kind + "; call registrar.add_" + record.kind + "()");
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
    if (record.loaded && record.kind == to_string(kind) && record.name == name) return record;
  std::vector<std::string> available;
  for (const auto& record : records_)
    if (record.loaded && record.kind == to_string(kind)) available.push_back(record.name);
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

}  // namespace lepton::engine
