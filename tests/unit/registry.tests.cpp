// The plugin loader: first-party plugins load; each deliberately broken fixture gives its diagnostic
// and never stops the scan.
#include "plugins/registry.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <utility>

using namespace lepton::engine;

namespace {
std::string fixture(const std::string& name, const std::string& file = "") {
  return std::string(LEPTON_FIXTURE_DIR) + "/" + name + "/" + (file.empty() ? name + ".so" : file);
}

std::string load_error(const std::string& path) {
  Registry registry;
  registry.load_default();  // the first-party plugins, so duplicates can be detected
  const PluginRecord& record = registry.load_file(path);
  CHECK_FALSE(record.loaded);
  return record.error;
}
}  // namespace

TEST_CASE("first-party plugins load with their manifests", "[registry]") {
  Registry registry;
  registry.load_default();
  for (const auto& r : registry.records()) {
    INFO(r.file << ": " << r.error);
    CHECK(r.loaded);
  }
  CHECK(registry.require(lepton::PluginKind::kModel, "mlp", "model.plugin").manifest["parameters"].contains("hidden"));
  CHECK(registry.require(lepton::PluginKind::kDataset, "csv", "dataset.plugin").loaded);
  CHECK(registry.require(lepton::PluginKind::kSearcher, "random", "search.searcher").version == "1.0.0");
  CHECK_THROWS_WITH(registry.require(lepton::PluginKind::kModel, "mpl", "model.plugin"),
                    Catch::StartsWith("model.plugin: unknown model plugin \"mpl\"; did you mean \"mlp\"?"));
}

TEST_CASE("each broken plugin is refused with a precise reason", "[registry]") {
  CHECK(load_error(fixture("no_entry")) ==
        "plugin no_entry.so: no entry point lepton_plugin_info; it is not a Lepton plugin (declare one with "
        "LEPTON_PLUGIN() from <lepton/plugin.hpp>)");
  CHECK(load_error(fixture("wrong_abi")) ==
        "plugin wrong_abi.so: built for ABI 999, engine has ABI " + std::to_string(lepton::kAbiVersion) +
            "; rebuild the plugin against this Lepton SDK");
  CHECK_THAT(load_error(fixture("wrong_size")),
             Catch::Matches("plugin wrong_size\\.so: plugin info is [0-9]+ bytes, engine expects [0-9]+; rebuild.*"));
  CHECK(load_error(fixture("wrong_fingerprint")) ==
        std::string("plugin wrong_fingerprint.so: built with \"gcc 9; libstdc++ cxx11-abi=0; torch 1.8.0\", engine built "
                    "with \"") +
            lepton::engine_build_fingerprint() + "\"; rebuild the plugin with the same compiler and LibTorch");
  CHECK(load_error(fixture("throwing_registration", "fixture_throwing_registration.so")) ==
        "plugin fixture_throwing_registration.so: registration failed: license file /opt/vendor/key not found");
  CHECK_THAT(load_error(fixture("duplicate_random", "fixture_duplicate_random.so")),
             Catch::Matches("plugin fixture_duplicate_random\\.so: searcher \"random\" is already provided by "
                            ".*/random\\.so; rename one of them"));
  CHECK(load_error(fixture("registers_nothing", "fixture_registers_nothing.so")) ==
        "plugin fixture_registers_nothing.so: registration added no searcher; call registrar.add_searcher()");
  CHECK(load_error(fixture("manifest_mismatch", "fixture_manifest_mismatch.so")) ==
        "plugin fixture_manifest_mismatch.so: its manifest says version \"2.0.0\", the library says \"1.0.0\"");
  CHECK_THAT(load_error(fixture("not_a_library")),
             Catch::StartsWith("plugin not_a_library.so: cannot be loaded: ") && Catch::Contains("not_a_library.so"));
}

TEST_CASE("a bad plugin never stops the scan of its folder", "[registry]") {
  namespace fs = std::filesystem;
  Registry registry;
  std::size_t fixture_libraries = 0;
  for (const auto& folder : fs::directory_iterator(LEPTON_FIXTURE_DIR)) {
    registry.load_folder(folder.path().string());
    for (const auto& item : fs::directory_iterator(folder.path())) fixture_libraries += item.path().extension() == ".so";
  }
  // Every fixture library was tried, however many bad ones came before it.
  CHECK(registry.records().size() == fixture_libraries);
  registry.load_default();

  // What the scan should say of each library, from the fixtures actually built: refused when it is
  // refused in a registry of its own, or when a library scanned before it provides the same plugin.
  std::set<std::pair<std::string, std::string>> provided;
  int expected_refused = 0, refused = 0;
  for (const auto& r : registry.records()) {
    Registry alone;
    const bool loads = alone.load_file(r.file).loaded && provided.insert({r.kind_name(), r.name}).second;
    INFO(r.file << ": " << r.error);
    CHECK(r.loaded == loads);
    expected_refused += loads ? 0 : 1;
    refused += r.loaded ? 0 : 1;
  }
  CHECK(refused == expected_refused);
  CHECK(expected_refused > 1);  // broken fixtures, and the first-party random.so that the fixture "random" shadows
  CHECK(registry.require(lepton::PluginKind::kSearcher, "random", "search.searcher").version == "9.9.9");
  CHECK(registry.require(lepton::PluginKind::kModel, "mlp", "model.plugin").loaded);
}
