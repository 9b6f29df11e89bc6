// The domain packs as the README runs them: each experiment stores its domain metrics, and rankings
// follow the directions the metric plugins declare.
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using lepton::json;
using lepton::test::run_lepton;

namespace {

const std::map<std::string, std::string> kPacks{{"LEPTON_PLUGIN_PATH", LEPTON_PACK_DIR}};

json run_pack_experiment(const std::string& experiment, const std::string& study, const std::string& storage) {
  const auto run = run_lepton({"run", experiment, "--storage", storage, "--trials", "3", "-q"}, kPacks, LEPTON_SOURCE_DIR);
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const auto trials = run_lepton({"trials", "--storage", storage, "--study", study, "--json"});
  REQUIRE(trials.exit_code == 0);
  return json::parse(trials.out);
}

std::vector<double> values(const json& trials, const std::string& metric) {
  std::vector<double> out;
  for (const auto& t : trials)
    if (t["state"] == "COMPLETE") out.push_back(t["metrics"][metric].get<double>());
  return out;
}

}  // namespace

TEST_CASE("medical pack: class-weighted screening ranked by sensitivity at 95% specificity", "[packs][slow]") {
  lepton::test::TempDir dir;
  const json trials = run_pack_experiment("packs/medical/experiments/breast-cancer-screening.json",
                                          "breast-cancer-screening", dir.sqlite_url());
  REQUIRE(trials.size() == 3);
  for (const auto& t : trials) {
    REQUIRE(t["state"] == "COMPLETE");
    for (const char* m : {"val_sensitivity", "val_specificity", "val_auc", "val_sensitivity_at_specificity",
                          "test_sensitivity_at_specificity", "test_npv"})
      CHECK(t["metrics"].contains(m));
    CHECK(t["values"].contains("val_sensitivity_at_specificity"));
  }
  const auto ranked = values(trials, "val_sensitivity_at_specificity");
  CHECK(std::is_sorted(ranked.rbegin(), ranked.rend()));  // best (highest) first
  CHECK(ranked.front() > 0.8);
  const auto best = run_lepton({"best", "--storage", dir.sqlite_url(), "--study", "breast-cancer-screening"});
  CHECK_THAT(best.out, Catch::Contains("sensitivity_at_specificity") && Catch::Contains("npv"));
}

TEST_CASE("finance pack: German credit by published cost, S&P 500 walk-forward by Sharpe", "[packs][slow]") {
  lepton::test::TempDir dir;
  const json credit = run_pack_experiment("packs/finance/experiments/german-credit-cost.json", "german-credit-cost",
                                          dir.sqlite_url());
  const auto costs = values(credit, "val_average_cost");
  REQUIRE(costs.size() == 3);
  CHECK(std::is_sorted(costs.begin(), costs.end()));  // a cost: lowest first
  CHECK(costs.front() < 0.7);  // better than rejecting every applicant (0.7 per applicant)
  // Ranking by another minimized plugin metric sorts ascending too, from the study's stored directions.
  const auto by_test = run_lepton({"trials", "--storage", dir.sqlite_url(), "--study", "german-credit-cost", "--sort",
                                   "test_total_cost", "--json"});
  REQUIRE(by_test.exit_code == 0);
  const auto test_costs = values(json::parse(by_test.out), "test_total_cost");
  CHECK(std::is_sorted(test_costs.begin(), test_costs.end()));

  const json sp500 = run_pack_experiment("packs/finance/experiments/sp500-direction.json", "sp500-direction",
                                         dir.sqlite_url());
  REQUIRE(values(sp500, "val_sharpe").size() == 3);
  for (const char* m : {"val_strategy_return", "val_hit_rate", "test_sharpe", "test_excess_return"})
    CHECK(sp500[0]["metrics"].contains(m));
  const auto studies = run_lepton({"studies", "--storage", dir.sqlite_url(), "--json"});
  CHECK(json::parse(studies.out).size() == 2);
}

TEST_CASE("a built pack carries its data: its experiment runs from any folder", "[packs][slow]") {
  lepton::test::TempDir dir;
  const auto run = run_lepton({"run", std::string(LEPTON_PACK_DIR) + "/medical/experiments/breast-cancer-screening.json",
                               "--storage", dir.sqlite_url(), "--trials", "1", "-q"},
                              kPacks, dir.path());
  INFO(run.err);
  CHECK(run.exit_code == 0);
}

TEST_CASE("without the pack on the plugin path, the error says where plugins come from", "[packs][slow]") {
  lepton::test::TempDir dir;
  const auto run = run_lepton({"run", "packs/medical/experiments/breast-cancer-screening.json", "--storage",
                               dir.sqlite_url()},
                              {}, LEPTON_SOURCE_DIR);
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.err, Catch::Contains("metrics[0].plugin: unknown metric plugin \"clinical\"") &&
                          Catch::Contains("LEPTON_PLUGIN_PATH adds folders"));
}
