// The conformance kit: sound plugins pass every check; each deliberately broken one fails exactly
// the check its flaw breaks, with a reason that says what went wrong.
#include "conformance/conformance.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using lepton::json;
using namespace lepton::engine;

namespace {

std::string fixture(const std::string& kind) {
  return std::string(LEPTON_FIXTURE_DIR) + "/conformance/fixture_broken_" + kind + ".so";
}

ConformanceReport check(const std::string& file, const json& overrides = json::object()) {
  ConformanceOptions options;
  options.overrides = overrides;
  // As `lepton plugins check` does: the plugin's own folder holds files its manifest names.
  options.data_dirs = {LEPTON_SOURCE_DIR, std::filesystem::path(file).parent_path().string()};
  return check_plugin(file, options);
}

const CheckResult& result(const ConformanceReport& report, const std::string& name) {
  for (const auto& c : report.checks)
    if (c.name == name) return c;
  FAIL("no check named " << name);
  throw std::logic_error("unreachable");
}

// Exactly the checks in `failing` fail (or are skipped after a failure); every other one passes.
void expect_failures(const ConformanceReport& report, const std::map<std::string, std::string>& failing) {
  CHECK_FALSE(report.passed());
  for (const auto& c : report.checks) {
    INFO(c.name << ": " << to_string(c.status) << " " << c.detail);
    const auto it = failing.find(c.name);
    if (it == failing.end()) {
      CHECK(c.status != CheckStatus::kFail);
    } else {
      CHECK(c.status == CheckStatus::kFail);
      CHECK_THAT(c.detail, Catch::Contains(it->second));
    }
  }
}

}  // namespace

TEST_CASE("every first-party plugin keeps its contract", "[conformance][slow]") {
  std::vector<std::string> files;
  for (const char* folder : {LEPTON_PLUGIN_DIR, LEPTON_PACK_DIR})
    for (const auto& item : std::filesystem::recursive_directory_iterator(folder))
      if (item.path().extension() == ".so") files.push_back(item.path().string());
  REQUIRE(files.size() >= 8);
  for (const auto& file : files) {
    const ConformanceReport report = check(file);
    for (const auto& c : report.checks) {
      INFO(file << ": " << c.name << ": " << c.detail);
      CHECK(c.status == CheckStatus::kPass);
    }
    CHECK(report.checks.size() >= 8);
  }
}

TEST_CASE("the fixtures without a flaw pass", "[conformance]") {
  for (const char* kind : {"searcher", "model", "dataset", "metric"}) {
    const ConformanceReport report = check(fixture(kind));
    INFO(kind);
    CHECK(report.passed());
  }
}

TEST_CASE("broken searchers fail the check their flaw breaks", "[conformance]") {
  auto with = [](const std::string& flaw) { return check(fixture("searcher"), {{"options", {{"flaw", flaw}}}}); };
  expect_failures(with("out_of_space"), {{"proposals inside the space", "is outside ["}});
  expect_failures(with("ignores_conditions"), {{"conditions respected", "although its condition"}});
  expect_failures(with("nondeterministic"), {{"deterministic for a seed", "proposed differently at trial 0"},
                                             {"resume equivalence", "the proposals differ"}});
  expect_failures(with("forgetful"), {{"resume equivalence", "after a resume at trial 10"}});
}

TEST_CASE("broken models fail the check their flaw breaks", "[conformance]") {
  auto with = [](const std::string& flaw) { return check(fixture("model"), {{"params", {{"flaw", flaw}}}}); };
  const auto wrong = with("wrong_output");
  expect_failures(wrong, {{"output shape", "gave logits {6, 3}, expected {6, 2}"}});
  CHECK(result(wrong, "builds for input shapes").status == CheckStatus::kPass);
  expect_failures(with("frozen"), {{"training step lowers the loss", "does not depend on any trainable parameter"}});
  expect_failures(with("no_groups"), {{"parameter groups present", "head_parameters() is empty"}});
}

TEST_CASE("broken datasets fail the check their flaw breaks", "[conformance]") {
  auto with = [](const std::string& flaw) { return check(fixture("dataset"), {{"config", {{"flaw", flaw}}}}); };
  expect_failures(with("overlap"), {{"split sizes add up", "but info.rows is 90"},
                                    {"no overlap between splits", "is in both the train and the valid split"}});
  expect_failures(with("bad_labels"), {{"labels in range", "valid split: labels span [1, 3], but there are 3 classes"}});
  expect_failures(with("nondeterministic"), {{"deterministic for a seed", "gave a different train split"}});
  expect_failures(with("lossy"), {{"split sizes add up", "= 90, but info.rows is 100"}});
  expect_failures(with("bad_categorical"),
                  {{"tensor shapes and types", "categorical column 0: train split holds values that are not category indices in [0, 2)"}});
}

TEST_CASE("broken metrics fail the check their flaw breaks", "[conformance]") {
  auto with = [](const std::string& flaw) { return check(fixture("metric"), {{"options", {{"flaw", flaw}}}}); };
  expect_failures(with("wrong_direction"), {{"perfect predictions score best", "\"hits\" (maximize)"}});
  expect_failures(with("missing_metric"), {{"computes every declared metric", "\"hits\" is declared in the manifest"}});
  expect_failures(with("order"), {{"independent of sample order", "when the samples were shuffled"}});
}

TEST_CASE("a plugin that does not load fails the first check with the loader's reason", "[conformance]") {
  const auto report = check(std::string(LEPTON_FIXTURE_DIR) + "/wrong_abi/wrong_abi.so");
  REQUIRE(report.checks.size() == 1);
  CHECK(report.checks[0].name == "loads");
  CHECK(report.checks[0].status == CheckStatus::kFail);
  CHECK_THAT(report.checks[0].detail, Catch::Contains("built for ABI 999"));
}
