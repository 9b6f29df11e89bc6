// Build stamps, stamped manifests, origins and domain packs: what the registry knows of a plugin
// before and without loading it.
#include "plugins/registry.hpp"
#include "plugins/stamp.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

using lepton::json;
using namespace lepton::engine;
namespace fs = std::filesystem;

namespace {
json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}
}  // namespace

TEST_CASE("a stamp parses into its fields and rejects malformed text", "[stamp]") {
  const auto stamp = parse_stamp("lepton-plugin-stamp/1|abi=7|kind=model|name=mlp|version=1.2.0|fingerprint=gcc 12; x|");
  REQUIRE(stamp);
  CHECK(stamp->abi == 7);
  CHECK(stamp->kind == lepton::PluginKind::kModel);
  CHECK(stamp->name == "mlp");
  CHECK(stamp->version == "1.2.0");
  CHECK(stamp->fingerprint == "gcc 12; x");
  CHECK_FALSE(parse_stamp("lepton-plugin-stamp/1|abi=x|kind=model|name=a|version=1|fingerprint=f|"));
  CHECK_FALSE(parse_stamp("lepton-plugin-stamp/1|abi=2|kind=model|"));
  CHECK_FALSE(parse_stamp("something else"));
  // A kind from a newer SDK: the stamp is still read, so its ABI can be judged, but names no kind.
  const auto newer = parse_stamp("lepton-plugin-stamp/1|abi=99|kind=tokenizer|name=t|version=1|fingerprint=f|");
  REQUIRE(newer);
  CHECK(newer->abi == 99);
  CHECK_FALSE(newer->kind);
}

TEST_CASE("plugin kinds are read from text once, by name", "[stamp]") {
  for (const lepton::PluginKind kind : kPluginKinds) CHECK(parse_plugin_kind(lepton::to_string(kind)) == kind);
  CHECK_FALSE(parse_plugin_kind("Model"));
  CHECK_FALSE(parse_plugin_kind(""));
  CHECK_FALSE(parse_plugin_kind("unknown"));
}

TEST_CASE("LEPTON_PLUGIN stamps the library and lepton_add_plugin the manifest beside it", "[stamp]") {
  const fs::path library = fs::path(LEPTON_PLUGIN_DIR) / "random.so";
  const auto stamp = read_stamp(library.string());
  REQUIRE(stamp);
  CHECK(stamp->abi == lepton::kAbiVersion);
  CHECK(stamp->kind == lepton::PluginKind::kSearcher);
  CHECK(stamp->name == "random");
  CHECK(stamp->fingerprint == lepton::engine_build_fingerprint());
  const json manifest = read_json(fs::path(LEPTON_PLUGIN_DIR) / "random.plugin.json");
  CHECK(manifest["abi"] == lepton::kAbiVersion);
  CHECK(manifest["fingerprint"] == lepton::engine_build_fingerprint());
  CHECK(manifest["name"] == "random");
  // The stamp adds two keys and keeps the author's text otherwise: the same members, the same layout.
  const fs::path source = fs::path(LEPTON_SOURCE_DIR) / "plugins" / "datasets" / "csv" / "csv.plugin.json";
  const fs::path built = fs::path(LEPTON_PLUGIN_DIR) / "csv.plugin.json";
  json stamped = read_json(built);
  stamped.erase("abi");
  stamped.erase("fingerprint");
  CHECK(stamped == read_json(source));
  std::ifstream source_text(source), built_text(built);
  const std::string original((std::istreambuf_iterator<char>(source_text)), std::istreambuf_iterator<char>());
  const std::string copy((std::istreambuf_iterator<char>(built_text)), std::istreambuf_iterator<char>());
  CHECK_THAT(copy, Catch::EndsWith(original.substr(original.find('{') + 1)));
  CHECK_FALSE(read_stamp(std::string(LEPTON_FIXTURE_DIR) + "/not_a_library/not_a_library.so"));
}

TEST_CASE("describe() tells a plugin's identity and fitness without loading it", "[stamp]") {
  const PluginRecord r = Registry::describe(std::string(LEPTON_PLUGIN_DIR) + "/mlp.so");
  CHECK(r.stamped);
  CHECK_FALSE(r.loaded);
  CHECK(r.error.empty());
  CHECK(r.kind == lepton::PluginKind::kModel);
  CHECK(r.parameters.find("hidden") != nullptr);

  // A manifest from another build, next to a copy of the library: refused before loading.
  lepton::test::TempDir dir;
  fs::copy_file(std::string(LEPTON_PLUGIN_DIR) + "/mlp.so", dir.file("mlp.so"));
  json manifest = read_json(std::string(LEPTON_PLUGIN_DIR) + "/mlp.plugin.json");
  manifest["abi"] = 999;
  dir.write_json("mlp.plugin.json", manifest);
  CHECK(Registry::describe(dir.file("mlp.so")).error ==
        "plugin mlp.so: its manifest says abi 999, the library says " + std::to_string(lepton::kAbiVersion) +
            "; the manifest is from another build");
  manifest["abi"] = lepton::kAbiVersion;
  manifest["fingerprint"] = "clang 18; libc++; torch 2.3.0";
  dir.write_json("mlp.plugin.json", manifest);
  CHECK_THAT(Registry::describe(dir.file("mlp.so")).error,
             Catch::StartsWith("plugin mlp.so: its manifest says fingerprint \"clang 18; libc++; torch 2.3.0\""));
}

TEST_CASE("plugins carry their origin and packs are found through the plugin path", "[stamp][packs]") {
  Registry registry;
  registry.load_default();
  for (const auto& r : registry.records()) CHECK(r.origin == "build");

  registry.load_folder(LEPTON_PACK_DIR);
  REQUIRE(registry.packs().size() == 2);
  CHECK(registry.packs()[0].name == "finance");
  CHECK(registry.packs()[1].name == "medical");
  for (const auto& p : registry.packs()) CHECK(p.error.empty());
  const PluginRecord& clinical = registry.require(lepton::PluginKind::kMetric, "clinical", "metrics[0].plugin");
  CHECK(clinical.origin == "pack medical");
  CHECK(clinical.metrics.size() == 7);
  CHECK(registry.require(lepton::PluginKind::kMetric, "trading", "metrics[0].plugin").origin == "pack finance");

  // Naming a pack itself works too, and a pack twice on the path is loaded once.
  registry.load_folder(std::string(LEPTON_PACK_DIR) + "/medical");
  CHECK(registry.packs().size() == 2);
}

TEST_CASE("a pack that lacks a promised plugin, or has a bad manifest, says so", "[packs]") {
  lepton::test::TempDir dir;
  fs::create_directories(dir.file("ghost"));
  std::ofstream(dir.file("ghost/pack.json")) << R"({"name": "ghost", "version": "0.1.0", "plugins": ["phantom"]})";
  fs::create_directories(dir.file("broken"));
  std::ofstream(dir.file("broken/pack.json")) << R"({"name": "broken", "version": 3})";
  Registry registry;
  registry.load_folder(dir.path());
  REQUIRE(registry.packs().size() == 2);
  CHECK_THAT(registry.packs()[0].error, Catch::Contains("broken/pack.json.version: expected a string, got number 3"));
  CHECK_THAT(registry.packs()[1].error,
             Catch::StartsWith("pack ghost: its manifest lists plugin \"phantom\", but ") &&
                 Catch::Contains("holds no library that provides it"));
}
