// Strict configuration reading: the messages users see for wrong types, ranges and typos.
#include <lepton/config.hpp>

#include <catch2/catch.hpp>

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;

TEST_CASE("ConfigObject reports the path and the expected type", "[config]") {
  const json value = json::parse(R"({"epochs": "ten", "lr": 0.1, "batch": 2.5, "flag": 1, "opt": "adma"})");
  ConfigObject cfg(value, "task");
  CHECK_THROWS_WITH(cfg.required<int>("epochs"), "task.epochs: expected an integer, got string \"ten\"");
  CHECK_THROWS_WITH(cfg.required<std::int64_t>("batch"), "task.batch: expected an integer, got number 2.5");
  CHECK_THROWS_WITH(cfg.required<bool>("flag"), "task.flag: expected true or false, got number 1");
  CHECK_THROWS_WITH(cfg.required<std::string>("missing"), "task.missing: required key is missing");
  CHECK_THROWS_WITH(cfg.number_in("lr", 0.5, 1.0, std::nullopt), "task.lr: expected a number in [0.5, 1], got 0.1");
  CHECK_THROWS_WITH(cfg.one_of("opt", {"adam", "sgd"}, std::nullopt),
                    "task.opt: expected one of adam, sgd, got \"adma\" (did you mean \"adam\"?)");
  CHECK(cfg.optional<double>("absent", 3.0) == 3.0);
}

TEST_CASE("finish() rejects unknown keys and suggests the closest known one", "[config]") {
  const json value = json::parse(R"({"epochs": 3, "lerning_rate": 0.1})");
  ConfigObject cfg(value, "task");
  cfg.required<int>("epochs");
  cfg.optional<double>("learning_rate", 0.01);
  CHECK_THROWS_WITH(cfg.finish(),
                    "task.lerning_rate: unknown key (did you mean \"learning_rate\"?); expected one of: epochs, learning_rate");
  // A section that takes no keys says so instead of listing nothing.
  ConfigObject empty(json::parse(R"({"depth": 2})"), "search.options");
  CHECK_THROWS_WITH(empty.finish(), "search.options.depth: unknown key; this section takes no keys");
}

TEST_CASE("a non-object is refused at construction", "[config]") {
  CHECK_THROWS_AS(ConfigObject(json::array(), "model"), ConfigError);
  CHECK_THROWS_WITH(ConfigObject(json(3), "model"), "model: expected an object, got number 3");
}

TEST_CASE("closest_match only suggests likely typos", "[config]") {
  CHECK(lepton::closest_match("optimiser", {"optimizer", "lr"}) == "optimizer");
  CHECK_FALSE(lepton::closest_match("zzzzzz", {"optimizer", "lr"}).has_value());
}
