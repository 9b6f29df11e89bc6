// `lepton plugins check | inspect | list`: the conformance kit over every plugin the build made
// (first-party and packs, whoever added them), inspection without loading, origins and packs.
#include "support/process.hpp"

#include <lepton/plugin.hpp>

#include <catch2/catch.hpp>

using lepton::json;
using lepton::test::run_lepton;

TEST_CASE("every plugin in the build's plugin folder and packs passes lepton plugins check", "[plugins_cli][slow]") {
  const auto r = run_lepton({"plugins", "check", LEPTON_PLUGIN_DIR, LEPTON_PACK_DIR, "--json"}, {}, LEPTON_SOURCE_DIR);
  const json out = json::parse(r.out);
  for (const auto& plugin : out["plugins"])
    for (const auto& c : plugin["checks"]) {
      INFO(plugin["file"] << ": " << c["check"] << ": " << c["detail"]);
      CHECK(c["status"] == "PASS");
    }
  CHECK(r.exit_code == 0);
  CHECK(out["passed"] == true);
  CHECK(out["plugins"].size() >= 8);
}

TEST_CASE("a plugin that breaks its contract fails the check with the reason, exit code 1", "[plugins_cli][slow]") {
  const auto r = run_lepton({"plugins", "check", std::string(LEPTON_FIXTURE_DIR) + "/conformance/fixture_broken_dataset.so",
                             "--config", R"({"config": {"flaw": "overlap"}})"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("FAIL    no overlap between splits") &&
                        Catch::Contains("row 0 is in both the train and the valid split") &&
                        Catch::Contains("the plugin does not keep its contract"));
  CHECK(run_lepton({"plugins", "check", "no/such/plugin.so"}).exit_code == 2);
  CHECK_THAT(run_lepton({"plugins", "check", LEPTON_PLUGIN_DIR, "--config", "[1]"}).err,
             Catch::Contains("--config: expected a JSON object"));
}

TEST_CASE("plugins inspect reads identity and fingerprint from the file without loading it", "[plugins_cli][slow]") {
  const std::string mlp = std::string(LEPTON_PLUGIN_DIR) + "/mlp.so";
  const auto human = run_lepton({"plugins", "inspect", mlp});
  CHECK(human.exit_code == 0);
  CHECK_THAT(human.out, Catch::Contains("identity     build stamp in the file (no plugin code ran)") &&
                            Catch::Contains(std::string("fingerprint  ") + lepton::engine_build_fingerprint()) &&
                            Catch::Contains("hidden") && Catch::Contains("compatible with this engine"));
  const json out = json::parse(run_lepton({"plugins", "inspect", std::string(LEPTON_PACK_DIR) + "/medical/clinical.plugin.json",
                                           "--json"})
                                   .out);
  CHECK(out["stamped"] == true);
  CHECK(out["compatible"] == true);
  CHECK(out["loaded"] == false);
  CHECK(out["manifest"]["abi"] == lepton::kAbiVersion);
  CHECK(out["metrics"]["sensitivity_at_specificity"]["direction"] == "maximize");
}

TEST_CASE("plugins list shows each plugin's origin and the packs on the path", "[plugins_cli][packs][slow]") {
  const auto r = run_lepton({"plugins", "list", "--json"}, {{"LEPTON_PLUGIN_PATH", LEPTON_PACK_DIR}});
  REQUIRE(r.exit_code == 0);
  const json out = json::parse(r.out);
  std::map<std::string, std::string> origin;
  for (const auto& p : out["plugins"]) origin[p["name"]] = p["origin"];
  CHECK(origin["mlp"] == "build");
  CHECK(origin["clinical"] == "pack medical");
  CHECK(origin["cost_matrix"] == "pack finance");
  REQUIRE(out["packs"].size() == 2);
  CHECK(out["packs"][1]["experiments"][0] == "experiments/breast-cancer-screening.json");
  const auto human = run_lepton({"plugins"}, {{"LEPTON_PLUGIN_PATH", LEPTON_PACK_DIR}});
  CHECK_THAT(human.out, Catch::Contains("(LEPTON_PLUGIN_PATH)") && Catch::Contains("Packs:") &&
                            Catch::Contains("pack medical"));
}
