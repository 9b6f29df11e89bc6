// Every searcher plugin, loaded through the registry and driven through Searcher::suggest:
// proposals stay inside random spaces and their conditions, depend only on seed and history,
// survive a restart from the persisted state, and options are checked strictly against the
// manifest. Plus what each strategy must do: TPE's liar, grid's exhaustiveness, CMA-ES's
// convergence and restarts, NSGA-II's front.
#include "plugins/registry.hpp"
#include "experiment/parameters.hpp"

#include <lepton/lepton.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <set>

using lepton::json;
using lepton::TrialState;
using lepton::engine::Registry;

namespace {

const std::vector<std::string> kSearchers{"random", "grid", "tpe", "gp", "cmaes", "evolution", "nsga2"};
const std::set<std::string> kMultiObjective{"random", "grid", "tpe", "nsga2"};

const Registry& registry() {
  static Registry r;
  static const bool loaded = (r.load_default(), true);
  (void)loaded;
  return r;
}

// Options that keep the tests fast (and give the grid its values for continuous floats).
json test_options(const std::string& searcher) {
  if (searcher == "grid") return {{"points", 3}};
  if (searcher == "gp") return {{"n_candidates", 200}, {"n_local_starts", 2}};
  if (searcher == "evolution") return {{"population", 8}, {"tournament", 3}};
  if (searcher == "nsga2") return {{"population", 8}};
  return json::object();
}

// A random space: floats (plain, log, stepped, degenerate), ints (plain, stepped, log),
// categoricals of mixed scalar types, fixed values, and conditions (nested when a conditional
// categorical becomes a parent).
json random_space(lepton::Rng& rng) {
  json space = json::object();
  std::vector<std::pair<std::string, json>> parents;  // categoricals and their choices
  const auto n = lepton::uniform_int(rng, 1, 7);
  for (int i = 0; i < n; ++i) {
    const std::string name = "p" + std::to_string(i);
    json p;
    switch (lepton::uniform_int(rng, 0, 7)) {
      case 0: {
        const double low = lepton::uniform(rng, -10, 10);
        p = {{"type", "float"}, {"low", low}, {"high", low + lepton::uniform(rng, 0.001, 20)}};
        break;
      }
      case 1: {
        const double low = std::pow(10.0, lepton::uniform(rng, -6, 1));
        p = {{"type", "float"}, {"low", low}, {"high", low * std::pow(10.0, lepton::uniform(rng, 0.1, 4))}, {"log", true}};
        break;
      }
      case 2: {
        const double step = std::vector<double>{0.1, 0.25, 0.5, 3}[static_cast<std::size_t>(lepton::uniform_int(rng, 0, 3))];
        const double low = std::round(lepton::uniform(rng, -5, 5));
        p = {{"type", "float"}, {"low", low}, {"high", low + step * lepton::uniform_int(rng, 1, 12) + 0.01}, {"step", step}};
        break;
      }
      case 3: {
        const auto low = lepton::uniform_int(rng, -10, 10);
        p = {{"type", "int"}, {"low", low}, {"high", low + lepton::uniform_int(rng, 0, 30)}, {"step", lepton::uniform_int(rng, 1, 3)}};
        break;
      }
      case 4: {
        const auto low = lepton::uniform_int(rng, 1, 10);
        p = {{"type", "int"}, {"low", low}, {"high", low + lepton::uniform_int(rng, 1, 500)}, {"log", true}};
        break;
      }
      case 5:
      case 6: {
        const json pool = {"a", "b", 7, true, 2.5, "c"};
        json choices = json::array();
        const auto count = lepton::uniform_int(rng, 1, 5);
        for (int c = 0; c < count; ++c) choices.push_back(pool[static_cast<std::size_t>(c)]);
        p = {{"type", "categorical"}, {"choices", choices}};
        break;
      }
      default:
        p = lepton::uniform01(rng) < 0.5 ? json{{"type", "fixed"}, {"value", "x"}}
                                         : json{{"type", "float"}, {"low", 1.5}, {"high", 1.5}};
    }
    if (!parents.empty() && lepton::uniform01(rng) < 0.4) {
      const auto& [parent, choices] = parents[static_cast<std::size_t>(lepton::uniform_int(rng, 0, static_cast<std::int64_t>(parents.size()) - 1))];
      json allowed = json::array();
      for (const auto& c : choices)
        if (allowed.empty() || lepton::uniform01(rng) < 0.5) allowed.push_back(c);
      p["when"] = {{parent, allowed}};
    }
    if (p["type"] == "categorical") parents.emplace_back(name, p["choices"]);
    space[name] = p;
  }
  return space;
}

// A deterministic objective of a point (two objectives when asked): how far its encoding is from
// an arbitrary target.
std::vector<double> objective(const lepton::SpaceEncoder& encoder, const json& params, std::size_t objectives) {
  const auto x = encoder.encode(params);
  double a = 0, b = 0;
  for (std::size_t d = 0; d < x.size(); ++d) {
    if (std::isnan(x[d])) continue;
    a += (x[d] - 0.3) * (x[d] - 0.3);
    b += (x[d] - 0.8) * (x[d] - 0.8);
  }
  return objectives == 1 ? std::vector<double>{a} : std::vector<double>{a, b};
}

struct Study {
  std::string name;
  lepton::SearcherSetup setup;
  std::unique_ptr<lepton::Searcher> searcher;
  std::vector<lepton::TrialView> history;

  // Rebuilds the searcher from its persisted state, as a resumed study does.
  void restart() {
    setup.state = json::parse(searcher->state().dump());  // through text, as the store keeps it
    searcher = registry().searcher(name)(setup);
  }
};

Study make_study(const std::string& name, const json& space, std::size_t objectives, std::uint64_t seed,
                 json options = nullptr) {
  Study s;
  s.name = name;
  s.setup.space = lepton::SearchSpace::parse(space, "search.space");
  s.setup.directions.assign(objectives, lepton::Direction::kMinimize);
  if (objectives > 1) s.setup.directions[1] = lepton::Direction::kMaximize;
  s.setup.seed = seed;
  s.setup.options = options.is_null() ? test_options(name) : options;
  s.searcher = registry().searcher(name)(s.setup);
  return s;
}

lepton::Params propose(Study& s) {
  lepton::SearchContext context;
  context.trial_number = static_cast<int>(s.history.size());
  context.seed = lepton::derive_seed(s.setup.seed, static_cast<std::uint64_t>(context.trial_number), 2);
  context.trials = &s.history;
  return s.searcher->suggest(context);
}

using Objective = std::function<std::vector<double>(const json&)>;

// Runs `trials` proposals as three parallel workers would see them: each proposal is made while
// the two before it still run; one trial in seven fails and one in five is pruned. Every
// `restart_every` proposals the searcher is rebuilt from its persisted state. Checks each
// proposal against the space and returns them.
std::vector<json> drive(Study& s, int trials, const Objective& f, int restart_every = 0) {
  std::vector<json> proposals;
  for (int t = 0; t < trials; ++t) {
    const json p = propose(s);
    if (const auto why = s.setup.space.check(p)) FAIL_CHECK(s.name << " trial " << t << ": " << p.dump() << ": " << *why);
    proposals.push_back(p);
    lepton::TrialView view;
    view.number = t;
    view.state = TrialState::kRunning;
    view.params = p;
    s.history.push_back(view);
    if (t >= 2) {
      auto& done = s.history[static_cast<std::size_t>(t - 2)];
      const auto values = f(done.params);
      if (t % 7 == 3) {
        done.state = TrialState::kFail;
      } else if (t % 5 == 4) {
        done.state = TrialState::kPruned;
        done.intermediate = {{1, values[0] * 2}, {2, values[0] * 1.5}};
      } else {
        done.state = TrialState::kComplete;
        done.values = values;
      }
    }
    if (restart_every > 0 && t % restart_every == restart_every - 1) s.restart();
  }
  return proposals;
}

// Sequential trials, all complete: for quality checks.
double best_after(Study& s, int trials, const std::function<double(const json&)>& f) {
  double best = std::numeric_limits<double>::infinity();
  for (int t = 0; t < trials; ++t) {
    const json p = propose(s);
    lepton::TrialView view;
    view.number = t;
    view.state = TrialState::kComplete;
    view.params = p;
    view.values = {f(p)};
    best = std::min(best, view.values[0]);
    s.history.push_back(view);
  }
  return best;
}

const json kMixedSpace = json::parse(R"({
  "optimizer": {"type": "categorical", "choices": ["adam", "sgd", "rmsprop"]},
  "momentum":  {"type": "float", "low": 0.0, "high": 0.99, "when": {"optimizer": ["sgd", "rmsprop"]}},
  "nesterov":  {"type": "categorical", "choices": [true, false], "when": {"optimizer": "sgd"}},
  "lr":        {"type": "float", "low": 1e-5, "high": 1.0, "log": true},
  "layers":    {"type": "int", "low": 1, "high": 5},
  "hidden":    {"type": "int", "low": 8, "high": 32, "log": true},
  "dropout":   {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
  "epochs":    {"type": "fixed", "value": 10}
})");

}  // namespace

TEST_CASE("every searcher proposes valid points of random spaces, conditions included", "[searchers][slow]") {
  lepton::Rng rng(20240601);
  for (int k = 0; k < 10; ++k) {
    const json space = random_space(rng);
    const lepton::SpaceEncoder encoder(lepton::SearchSpace::parse(space, "search.space"));
    for (const auto& name : kSearchers) {
      for (std::size_t objectives : {1u, 2u}) {
        if (objectives == 2 && !kMultiObjective.count(name)) continue;
        INFO(objectives << " objective(s), space " << space.dump());
        Study s = make_study(name, space, objectives, static_cast<std::uint64_t>(k));
        drive(s, 30, [&](const json& p) { return objective(encoder, p, objectives); }, 10);
      }
    }
  }
}

TEST_CASE("proposals depend only on the seed and the history", "[searchers][slow]") {
  const lepton::SpaceEncoder encoder(lepton::SearchSpace::parse(kMixedSpace, "search.space"));
  const Objective f = [&](const json& p) { return objective(encoder, p, 1); };
  for (const auto& name : kSearchers) {
    INFO(name);
    Study a = make_study(name, kMixedSpace, 1, 11), b = make_study(name, kMixedSpace, 1, 11);
    Study other = make_study(name, kMixedSpace, 1, 12);
    const auto pa = drive(a, 30, f), pb = drive(b, 30, f), po = drive(other, 30, f);
    CHECK(pa == pb);
    CHECK(pa != po);
  }
}

TEST_CASE("a searcher rebuilt from its persisted state proposes what an uninterrupted one would", "[searchers][slow]") {
  const lepton::SpaceEncoder encoder(lepton::SearchSpace::parse(kMixedSpace, "search.space"));
  const Objective f = [&](const json& p) { return objective(encoder, p, 1); };
  for (const auto& name : kSearchers) {
    INFO(name);
    Study straight = make_study(name, kMixedSpace, 1, 5), resumed = make_study(name, kMixedSpace, 1, 5);
    CHECK(drive(straight, 40, f) == drive(resumed, 40, f, 3));
  }
}

TEST_CASE("searcher options are checked strictly and match the manifest", "[searchers]") {
  for (const auto& name : kSearchers) {
    INFO(name);
    const auto& record = registry().require(lepton::PluginKind::kSearcher, name, "search.searcher");
    const json& declared = record.manifest.at("parameters");
    auto create = [&](const json& options) {
      lepton::SearcherSetup setup;
      setup.space = lepton::SearchSpace::parse(kMixedSpace, "search.space");
      setup.directions = {lepton::Direction::kMinimize};
      setup.options = options;
      return registry().searcher(name)(setup);
    };
    // Every declared option at its default (or its lowest value) is accepted.
    json all = json::object();
    for (const auto& [key, rule] : declared.items())
      all[key] = rule.contains("default") ? rule["default"] : rule["type"] == "bool" ? json(false) : rule.at("low");
    CHECK_NOTHROW(create(all));
    // A misspelt option is an error at its path that lists exactly the declared options.
    try {
      create({{"n_startup_trails", 5}});
      FAIL("a misspelt option was accepted");
    } catch (const lepton::ConfigError& e) {
      CHECK(e.path() == "search.options.n_startup_trails");
      // A searcher without options says its section takes no keys; otherwise the keys are listed.
      const auto list_at = e.detail().find("expected one of:");
      if (declared.empty()) CHECK(e.detail().find("takes no keys") != std::string::npos);
      const std::string listed = list_at == std::string::npos ? "" : e.detail().substr(list_at + 16);
      std::set<std::string> accepted;
      for (std::size_t at = 0; at < listed.size();) {
        const auto comma = listed.find(',', at);
        std::string key = listed.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        key.erase(0, key.find_first_not_of(' '));
        if (!key.empty()) accepted.insert(key);
        at = comma == std::string::npos ? listed.size() : comma + 1;
      }
      std::set<std::string> keys;
      for (const auto& item : declared.items()) keys.insert(item.key());
      CHECK(accepted == keys);
    }
    // Values below the declared range are refused, at their path.
    for (const auto& [key, rule] : declared.items()) {
      if (!rule.contains("low")) continue;
      const double low = rule["low"].get<double>();
      const json below = rule["type"] == "int" ? json(static_cast<std::int64_t>(low) - 1) : json(low - 1e-3 - std::fabs(low));
      INFO(key << " = " << below.dump());
      CHECK_THROWS_MATCHES(create({{key, below}}), lepton::ConfigError,
                           Catch::Matchers::Predicate<lepton::ConfigError>(
                               [&](const lepton::ConfigError& e) { return e.path() == "search.options." + key; }));
    }
  }
}

TEST_CASE("single-objective searchers refuse several objectives and say what to use", "[searchers]") {
  for (const std::string name : {"gp", "cmaes", "evolution"}) {
    lepton::SearcherSetup setup;
    setup.space = lepton::SearchSpace::parse(kMixedSpace, "search.space");
    setup.directions = {lepton::Direction::kMaximize, lepton::Direction::kMinimize};
    CHECK_THROWS_WITH(registry().searcher(name)(setup), Catch::Contains("task.objective") && Catch::Contains("nsga2"));
  }
}

TEST_CASE("grid visits every combination once before repeating any", "[searchers][grid]") {
  const json space = json::parse(R"({
    "opt": {"type": "categorical", "choices": ["a", "b"]},
    "m":   {"type": "int", "low": 1, "high": 3, "when": {"opt": "b"}},
    "k":   {"type": "float", "low": 0, "high": 1, "step": 1},
    "c":   {"type": "fixed", "value": "x"}
  })");
  for (const bool shuffle : {false, true}) {
    Study s = make_study("grid", space, 1, 9, {{"shuffle", shuffle}});
    std::set<std::string> seen;
    for (int t = 0; t < 8; ++t) {
      const json p = propose(s);
      CHECK_FALSE(s.setup.space.check(p).has_value());
      seen.insert(p.dump());
      s.history.push_back({t, TrialState::kComplete, p, {0.0}, {}});
    }
    CHECK(seen.size() == 8);  // a: 2 values of k; b: 3 x 2
    const json again = propose(s);
    CHECK(seen.count(again.dump()) == 1);
    if (!shuffle) CHECK(s.history.front().params == json{{"opt", "a"}, {"k", 0.0}, {"c", "x"}});
  }
  // Running and failed trials hold their point too: parallel workers never duplicate one.
  Study s = make_study("grid", space, 1, 9);
  std::set<std::string> seen;
  for (int t = 0; t < 8; ++t) {
    const json p = propose(s);
    seen.insert(p.dump());
    s.history.push_back({t, t % 2 ? TrialState::kRunning : TrialState::kFail, p, {}, {}});
  }
  CHECK(seen.size() == 8);

  lepton::SearcherSetup setup;
  setup.space = lepton::SearchSpace::parse(json::parse(R"({"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": true}})"),
                                           "search.space");
  setup.directions = {lepton::Direction::kMinimize};
  CHECK_THROWS_MATCHES(registry().searcher("grid")(setup), lepton::ConfigError,
                       Catch::Matchers::Predicate<lepton::ConfigError>([](const lepton::ConfigError& e) {
                         return e.path() == "search.space.lr" && e.detail().find("search.options.points") != std::string::npos;
                       }));
  setup.options = {{"points", 5}};
  Study log_grid{"grid", setup, registry().searcher("grid")(setup), {}};
  std::set<double> values;
  for (int t = 0; t < 5; ++t) {
    const json p = propose(log_grid);
    values.insert(p["lr"].get<double>());
    log_grid.history.push_back({t, TrialState::kComplete, p, {0.0}, {}});
  }
  CHECK(values.size() == 5);
  CHECK(*values.begin() == Approx(0.001));
  CHECK(*values.rbegin() == Approx(0.1));
  CHECK(std::any_of(values.begin(), values.end(), [](double v) { return std::fabs(v - 0.01) < 1e-12; }));  // log-spaced

  // With points, an integer range with more values is thinned to that many, ends included.
  setup.space = lepton::SearchSpace::parse(json::parse(R"({"n": {"type": "int", "low": 1, "high": 1000, "log": true}})"),
                                           "search.space");
  setup.options = {{"points", 4}};
  Study thin{"grid", setup, registry().searcher("grid")(setup), {}};
  std::set<std::int64_t> ints;
  for (int t = 0; t < 4; ++t) {
    const json p = propose(thin);
    ints.insert(p["n"].get<std::int64_t>());
    thin.history.push_back({t, TrialState::kComplete, p, {0.0}, {}});
  }
  CHECK(ints.size() == 4);
  CHECK(*ints.begin() == 1);
  CHECK(*ints.rbegin() == 1000);
  CHECK(ints.count(propose(thin)["n"].get<std::int64_t>()) == 1);  // the grid is those 4 values
}

TEST_CASE("tpe's constant liar steers proposals away from running trials", "[searchers][tpe]") {
  const json space = {{"x", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}}}};
  double distance[2] = {0, 0};
  for (const bool liar : {false, true}) {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      Study s = make_study("tpe", space, 1, seed, {{"constant_liar", liar}});
      for (int t = 0; t < 40; ++t) {
        const double x = (t + 0.5) / 40;
        s.history.push_back({t, TrialState::kComplete, {{"x", x}}, {(x - 0.2) * (x - 0.2)}, {}});
      }
      for (int t = 40; t < 48; ++t) s.history.push_back({t, TrialState::kRunning, {{"x", 0.2}}, {}, {}});
      distance[liar] += std::fabs(propose(s)["x"].get<double>() - 0.2);
    }
  }
  CHECK(distance[1] > 1.5 * distance[0]);
}

TEST_CASE("model-based and evolutionary searchers beat random search", "[searchers][slow]") {
  const json space = json::parse(R"({
    "a": {"type": "float", "low": -5, "high": 5}, "b": {"type": "float", "low": -5, "high": 5},
    "c": {"type": "float", "low": 0.001, "high": 10, "log": true}, "d": {"type": "int", "low": 0, "high": 20}
  })");
  const auto f = [](const json& p) {
    return std::pow(p["a"].get<double>() - 1, 2) + std::pow(p["b"].get<double>() + 2, 2) +
           std::pow(std::log10(p["c"].get<double>()), 2) + std::pow((p["d"].get<double>() - 7) / 4, 2);
  };
  auto median_best = [&](const std::string& name, json options) {
    std::vector<double> best;
    for (std::uint64_t seed = 0; seed < 3; ++seed) {
      Study s = make_study(name, space, 1, seed, options);
      best.push_back(best_after(s, 60, f));
    }
    std::sort(best.begin(), best.end());
    return best[1];
  };
  const double random = median_best("random", json::object());
  for (const std::string name : {"tpe", "gp", "cmaes", "evolution", "nsga2"}) {
    INFO(name << " vs random " << random);
    CHECK(median_best(name, test_options(name)) < random);
  }
}

TEST_CASE("cmaes converges on a quadratic and restarts with a larger population when it stalls", "[searchers][cmaes]") {
  const json space = {{"x", {{"type", "float"}, {"low", -3.0}, {"high", 3.0}}},
                      {"y", {{"type", "float"}, {"low", -3.0}, {"high", 3.0}}}};
  Study s = make_study("cmaes", space, 1, 1);
  const double best = best_after(s, 200, [](const json& p) {
    return std::pow(p["x"].get<double>() - 1.2, 2) + 10 * std::pow(p["y"].get<double>() + 0.7, 2);
  });
  CHECK(best < 1e-4);  // random search gets about 1e-2 here

  Study flat = make_study("cmaes", space, 1, 1);
  best_after(flat, 400, [](const json&) { return 1.0; });
  const json state = flat.searcher->state();
  CHECK(state["restart"].get<int>() >= 1);
  CHECK(state["popsize"].get<int>() >= 12);  // 4 + floor(3 ln 2) = 6, doubled at each restart
}

TEST_CASE("gp keeps its fitted kernel in the persisted state", "[searchers][gp][slow]") {
  const json space = {{"x", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}}},
                      {"kind", {{"type", "categorical"}, {"choices", {"u", "v"}}}}};
  Study s = make_study("gp", space, 1, 4);
  const double best = best_after(s, 25, [](const json& p) {
    return std::pow(p["x"].get<double>() - 0.37, 2) + (p["kind"] == "v" ? 0.0 : 0.5);
  });
  CHECK(best < 1e-3);
  const json state = s.searcher->state();
  REQUIRE(state.contains("hyperparameters"));
  CHECK(state["hyperparameters"].size() == 2 + 2 + 1);  // x, one-hot kind (2), signal, noise
}

TEST_CASE("nsga2 approaches the Pareto front of ZDT1 and spreads along it", "[searchers][nsga2]") {
  // ZDT1 in 4 variables: f1 = x1, f2 = g (1 - sqrt(x1 / g)), g = 1 + 9 mean(x2..x4); the front is
  // g = 1, i.e. f2 = 1 - sqrt(f1) for f1 in [0, 1].
  json space = json::object();
  for (int i = 1; i <= 4; ++i) space["x" + std::to_string(i)] = {{"type", "float"}, {"low", 0.0}, {"high", 1.0}};
  Study s = make_study("nsga2", space, 2, 7, {{"population", 24}});
  s.setup.directions = {lepton::Direction::kMinimize, lepton::Direction::kMinimize};
  s.searcher = registry().searcher("nsga2")(s.setup);
  std::vector<std::vector<double>> values;
  for (int t = 0; t < 24 * 60; ++t) {
    const json p = propose(s);
    const double x1 = p["x1"].get<double>();
    const double g = 1 + 9 * (p["x2"].get<double>() + p["x3"].get<double>() + p["x4"].get<double>()) / 3;
    values.push_back({x1, g * (1 - std::sqrt(x1 / g))});
    s.history.push_back({t, TrialState::kComplete, p, values.back(), {}});
  }
  const auto front = lepton::non_dominated_fronts(values, 1).front();
  REQUIRE(front.size() >= 20);
  double low = 1, high = 0, worst_gap = 0;
  for (const std::size_t i : front) {
    low = std::min(low, values[i][0]);
    high = std::max(high, values[i][0]);
    worst_gap = std::max(worst_gap, values[i][1] - (1 - std::sqrt(values[i][0])));
  }
  CHECK(worst_gap < 0.05);  // every point of the found front lies near the true one
  CHECK(low < 0.05);        // and it covers the front from end to end
  CHECK(high > 0.9);
}
