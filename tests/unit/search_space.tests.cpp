// Search-space validation (exact messages) and sampling properties over many draws.
#include <lepton/search_space.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

using lepton::ConfigError;
using lepton::json;
using lepton::SearchSpace;

namespace {
std::string parse_error(const json& space) {
  try {
    SearchSpace::parse(space, "search.space");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("invalid spaces are rejected with the JSON path and the reason", "[search_space]") {
  CHECK(parse_error(json::parse(R"({"lr": {"type": "float", "low": 0.1, "high": 0.01}})")) ==
        "search.space.lr.low: low (0.1) is greater than high (0.01)");
  CHECK(parse_error(json::parse(R"({"lr": {"type": "float", "low": 0, "high": 1, "log": true}})")) ==
        "search.space.lr.low: a log-scale parameter needs low > 0, got low = 0");
  CHECK(parse_error(json::parse(R"({"opt": {"type": "categorical", "choices": []}})")) ==
        "search.space.opt.choices: choices must not be empty");
  CHECK(parse_error(json::parse(R"({"n": {"type": "int", "low": 1.5, "high": 4}})")) ==
        "search.space.n.low: expected an integer, got number 1.5");
  CHECK(parse_error(json::parse(R"({"lr": {"type": "floot", "low": 1, "high": 2}})")) ==
        "search.space.lr.type: expected one of float, int, categorical, fixed, got \"floot\" (did you mean \"float\"?)");
  CHECK(parse_error(json::parse(R"({"lr": {"type": "float", "low": 1, "high": 2, "lgo": true}})")).rfind(
            "search.space.lr.lgo: unknown key (did you mean \"log\"?)", 0) == 0);
  CHECK(parse_error(json::parse(R"({"lr": {"type": "float", "low": 1e-3, "high": 1, "log": true, "step": 0.1}})")) ==
        "search.space.lr.step: log and step cannot be combined; drop one of them");
  CHECK(parse_error(json::parse(R"({"opt": {"type": "categorical", "choices": ["a", "a"]}})")) ==
        "search.space.opt.choices[1]: duplicate choice \"a\"");
  CHECK(parse_error(json::parse(R"({"m": {"type": "float", "low": 0, "high": 1, "when": {"optimiser": ["sgd"]}},
                                    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]}})")) ==
        "search.space.m.when.optimiser: condition on unknown parameter \"optimiser\" (did you mean \"optimizer\"?)");
  CHECK(parse_error(json::parse(R"({"m": {"type": "float", "low": 0, "high": 1, "when": {"optimizer": ["sdg"]}},
                                    "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]}})")) ==
        "search.space.m.when.optimizer: \"optimizer\" can never be \"sdg\"; its choices are [\"sgd\", \"adam\"]");
  CHECK(parse_error(json::parse(R"({"a": {"type": "categorical", "choices": [1, 2], "when": {"b": 1}},
                                    "b": {"type": "categorical", "choices": [1, 2], "when": {"a": 1}}})")) ==
        "search.space.a.when: conditions form a cycle");
  CHECK(parse_error(json::parse(R"([1, 2])")) == "search.space: expected an object of parameters, got an array");
}

TEST_CASE("parents come before their children whatever the file order", "[search_space]") {
  const auto space = SearchSpace::parse(json::parse(R"({
      "a_child": {"type": "float", "low": 0, "high": 1, "when": {"z_parent": "x"}},
      "z_parent": {"type": "categorical", "choices": ["x", "y"]}})"),
                                        "space");
  REQUIRE(space.params().size() == 2);
  CHECK(space.params()[0].name == "z_parent");
  CHECK(space.params()[1].name == "a_child");
}

TEST_CASE("samples stay inside bounds, on steps, and respect conditions", "[search_space]") {
  const auto space = SearchSpace::parse(json::parse(R"({
      "lr":        {"type": "float", "low": 1e-5, "high": 1e-1, "log": true},
      "dropout":   {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
      "hidden":    {"type": "int", "low": 8, "high": 512, "log": true},
      "layers":    {"type": "int", "low": 2, "high": 10, "step": 2},
      "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
      "momentum":  {"type": "float", "low": 0.5, "high": 0.99, "when": {"optimizer": ["sgd"]}},
      "nesterov":  {"type": "categorical", "choices": [true, false], "when": {"optimizer": "sgd", "layers": [2, 4]}},
      "seed":      {"type": "fixed", "value": 7}})"),
                                        "space");
  lepton::Rng rng(123);
  std::map<std::string, int> seen;
  int low_lr = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto p = space.sample(rng);
    INFO(p.dump());
    REQUIRE_FALSE(space.check(p).has_value());
    const double lr = p["lr"].get<double>();
    REQUIRE(lr >= 1e-5);
    REQUIRE(lr <= 1e-1);
    low_lr += lr < 1e-3 ? 1 : 0;  // log-uniform: half the mass below the geometric midpoint
    REQUIRE(p["hidden"].is_number_integer());
    REQUIRE(p["layers"].get<int>() % 2 == 0);
    const double d = p["dropout"].get<double>();
    REQUIRE(std::fabs(d * 10 - std::round(d * 10)) < 1e-9);
    const bool sgd = p["optimizer"] == "sgd";
    REQUIRE(p.contains("momentum") == sgd);
    const bool nesterov_active = sgd && p["layers"].get<int>() <= 4;
    REQUIRE(p.contains("nesterov") == nesterov_active);
    REQUIRE(p["seed"] == 7);
    ++seen[p["optimizer"].get<std::string>()];
    if (p["hidden"] == 8) ++seen["hidden_low"];
    if (p["layers"] == 10) ++seen["layers_high"];
    if (p["dropout"] == 0.5) ++seen["dropout_high"];
  }
  CHECK(low_lr > 2300);
  CHECK(low_lr < 2700);
  CHECK(seen["adam"] > 2300);
  CHECK(seen["sgd"] > 2300);
  CHECK(seen["hidden_low"] > 0);  // both ends of an integer range are reachable
  CHECK(seen["layers_high"] > 0);
  CHECK(seen["dropout_high"] > 0);
}

TEST_CASE("check() names what is wrong with a point", "[search_space]") {
  const auto space = SearchSpace::parse(json::parse(R"({
      "n": {"type": "int", "low": 1, "high": 9, "step": 2},
      "opt": {"type": "categorical", "choices": ["a", "b"]},
      "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": "b"}}})"),
                                        "space");
  CHECK(space.check(json{{"n", 3}, {"opt", "a"}}) == std::nullopt);
  CHECK(*space.check(json{{"n", 4}, {"opt", "a"}}) == "parameter \"n\" = 4 is not on step 2");
  CHECK(*space.check(json{{"n", 11}, {"opt", "a"}}) == "parameter \"n\" = 11 is outside [1, 9]");
  CHECK(*space.check(json{{"n", 3.5}, {"opt", "a"}}) == "parameter \"n\" = 3.5 is not an integer");
  CHECK(*space.check(json{{"n", 3}, {"opt", "c"}}) == "parameter \"opt\" = \"c\" is not one of [\"a\", \"b\"]");
  CHECK(*space.check(json{{"n", 3}, {"opt", "a"}, {"m", 0.5}}) ==
        "parameter \"m\" is inactive under its conditions but has a value");
  CHECK(*space.check(json{{"n", 3}, {"opt", "b"}}) == "active parameter \"m\" has no value");
  CHECK(*space.check(json{{"n", 3}, {"opt", "a"}, {"x", 1}}) == "unknown parameter \"x\"");
}

TEST_CASE("the internal scale round-trips and snaps to valid values", "[search_space]") {
  const auto space = SearchSpace::parse(json::parse(R"({
      "lr": {"type": "float", "low": 1e-4, "high": 1, "log": true},
      "n": {"type": "int", "low": 0, "high": 100, "step": 10}})"),
                                        "space");
  const auto& lr = *space.find("lr");
  const auto& n = *space.find("n");
  CHECK(SearchSpace::from_internal(lr, SearchSpace::to_internal(lr, 0.01)).get<double>() == Approx(0.01));
  CHECK(SearchSpace::from_internal(lr, 100.0).get<double>() == Approx(1.0));  // clamped
  CHECK(SearchSpace::from_internal(n, 44.0) == 40);
  CHECK(SearchSpace::from_internal(n, 46.0) == 50);
  CHECK(SearchSpace::from_internal(n, -7.0) == 0);
  CHECK(n.cardinality() == 11);
  CHECK(SearchSpace::parse(space.to_json(), "space").to_json() == space.to_json());
}
