// The SDK's unit-cube encoding: values to [0, 1] and back, points with conditions, cached trials.
#include <lepton/space_encoding.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <set>

using lepton::json;
using lepton::SearchSpace;

namespace {

SearchSpace conditional_space() {
  return SearchSpace::parse(json::parse(R"({
    "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
    "momentum":  {"type": "float", "low": 0.0, "high": 0.99, "when": {"optimizer": "sgd"}},
    "lr":        {"type": "float", "low": 1e-4, "high": 1e-1, "log": true},
    "layers":    {"type": "int", "low": 1, "high": 4},
    "hidden":    {"type": "int", "low": 8, "high": 512, "log": true},
    "dropout":   {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
    "epochs":    {"type": "fixed", "value": 3}
  })"),
                            "space");
}

std::size_t index_of(const SearchSpace& space, const std::string& name) {
  for (std::size_t i = 0; i < space.size(); ++i)
    if (space.params()[i].name == name) return i;
  throw std::logic_error("no parameter " + name);
}

}  // namespace

TEST_CASE("discrete values sit at the centres of equal cells", "[encoding]") {
  const auto space = conditional_space();
  const auto& layers = *space.find("layers");
  CHECK(lepton::to_unit(layers, 1) == Approx(0.125));
  CHECK(lepton::to_unit(layers, 4) == Approx(0.875));
  CHECK(lepton::from_unit(layers, 0.0) == 1);
  CHECK(lepton::from_unit(layers, 0.2499) == 1);
  CHECK(lepton::from_unit(layers, 0.25) == 2);
  CHECK(lepton::from_unit(layers, 1.0) == 4);
  CHECK(lepton::from_unit(layers, 7.0) == 4);  // clamped
  const auto& dropout = *space.find("dropout");
  CHECK(dropout.cardinality() == 6);
  CHECK(lepton::from_unit(dropout, 0.5).get<double>() == Approx(0.3));
  CHECK(lepton::to_unit(dropout, 0.0) == Approx(1.0 / 12));
}

TEST_CASE("every value of every parameter survives a round trip through the unit scale", "[encoding]") {
  const auto space = conditional_space();
  for (const auto& spec : space.params()) {
    if (!spec.numeric()) continue;
    INFO(spec.name);
    if (spec.cardinality() > 0) {
      for (std::int64_t k = 0; k < spec.cardinality(); ++k) {
        const json v = spec.value_at(k);
        CHECK(lepton::from_unit(spec, lepton::to_unit(spec, v.get<double>())) == v);
      }
    } else {
      for (double u : {0.0, 0.1, 0.5, 0.93, 1.0}) {
        const double v = lepton::from_unit(spec, u).get<double>();
        CHECK(lepton::to_unit(spec, v) == Approx(u).margin(1e-12));
        CHECK(v >= spec.low);
        CHECK(v <= spec.high);
      }
    }
  }
  // A uniform u gives a log-scaled integer's values in proportion to their log-width.
  const auto& hidden = *space.find("hidden");
  CHECK(lepton::from_unit(hidden, 0.0) == 8);
  CHECK(lepton::from_unit(hidden, 1.0) == 512);
  CHECK(lepton::from_unit(hidden, 0.5).is_number_integer());
}

TEST_CASE("points encode to vectors and decode to valid points, conditions included", "[encoding]") {
  const auto space = conditional_space();
  for (auto categorical : {lepton::CategoricalEncoding::kIndex, lepton::CategoricalEncoding::kOneHot}) {
    const lepton::SpaceEncoder encoder(space, categorical);
    CHECK(encoder.size() == (categorical == lepton::CategoricalEncoding::kOneHot ? 7u : 6u));  // fixed: none
    const json adam = {{"optimizer", "adam"}, {"lr", 0.01}, {"layers", 2}, {"hidden", 64}, {"dropout", 0.2}, {"epochs", 3}};
    const auto x = encoder.encode(adam);
    const auto momentum = encoder.span(index_of(space, "momentum"));
    CHECK(std::isnan(x[momentum.first]));  // inactive
    const json back = encoder.decode(x);
    CHECK_FALSE(space.check(back).has_value());
    CHECK(back["layers"] == 2);
    CHECK(back["hidden"] == 64);
    CHECK(back["lr"].get<double>() == Approx(0.01));
    CHECK(back["dropout"].get<double>() == Approx(0.2));
    CHECK_FALSE(back.contains("momentum"));

    // Switching the parent activates the child: without a value it takes the middle, or a draw.
    auto sgd = x;
    const auto optimizer = encoder.span(index_of(space, "optimizer"));
    if (categorical == lepton::CategoricalEncoding::kOneHot) {
      sgd[optimizer.first] = 0.0;
      sgd[optimizer.first + 1] = 1.0;
    } else {
      sgd[optimizer.first] = 0.75;
    }
    const json middle = encoder.decode(sgd);
    CHECK(middle["optimizer"] == "sgd");
    CHECK(middle["momentum"].get<double>() == Approx(0.495));
    lepton::Rng rng(3);
    std::set<double> drawn;
    for (int i = 0; i < 5; ++i) {
      const json p = encoder.decode(sgd, &rng);
      CHECK_FALSE(space.check(p).has_value());
      drawn.insert(p["momentum"].get<double>());
    }
    CHECK(drawn.size() == 5);
  }
}

TEST_CASE("encoded trials are cached by number and re-encoded from the first difference", "[encoding]") {
  const auto space = conditional_space();
  const lepton::SpaceEncoder encoder(space);
  std::vector<lepton::TrialView> trials(3);
  for (int i = 0; i < 3; ++i) {
    trials[static_cast<std::size_t>(i)].number = i;
    trials[static_cast<std::size_t>(i)].params = {{"optimizer", "adam"}, {"lr", 0.001 * (i + 1)}, {"layers", i + 1},
                                                  {"hidden", 8}, {"dropout", 0.0}, {"epochs", 3}};
  }
  lepton::EncodedTrials rows;
  rows.update(encoder, trials);
  REQUIRE(rows.size() == 3);
  CHECK(rows.row(2)[encoder.span(index_of(space, "layers")).first] == Approx(lepton::to_unit(*space.find("layers"), 3)));
  trials.erase(trials.begin() + 1);  // a different history: trial 1 is gone
  trials[1].params["layers"] = 4;
  rows.update(encoder, trials);
  REQUIRE(rows.size() == 2);
  CHECK(rows.row(1)[encoder.span(index_of(space, "layers")).first] == Approx(lepton::to_unit(*space.find("layers"), 4)));
}
