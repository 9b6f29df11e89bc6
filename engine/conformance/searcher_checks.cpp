// Searcher checks: valid proposals over random spaces, determinism for a seed, and resume from state.
#include "conformance/check_list.hpp"

#include <lepton/random.hpp>

#include <cmath>

namespace lepton::engine::conformance {

namespace {

constexpr std::uint64_t kStudySeed = 20240611;

// A space drawn at random: every parameter type, log and step scales, degenerate ranges, and
// conditional parameters (also nested), so a searcher meets what experiments can hold.
SearchSpace random_space(std::uint64_t seed) {
  Rng rng(seed);
  json space = json::object();
  const int count = static_cast<int>(uniform_int(rng, 1, 6));
  std::vector<std::string> categoricals;
  for (int i = 0; i < count; ++i) {
    const std::string name = "p" + std::to_string(i);
    switch (uniform_int(rng, 0, 6)) {
      case 0: space[name] = {{"type", "float"}, {"low", -2.5}, {"high", 4.0}}; break;
      case 1: space[name] = {{"type", "float"}, {"low", 1e-5}, {"high", 0.3}, {"log", true}}; break;
      case 2: space[name] = {{"type", "float"}, {"low", 0.0}, {"high", 1.0}, {"step", 0.25}}; break;
      case 3: space[name] = {{"type", "int"}, {"low", -3}, {"high", 40}, {"step", uniform_int(rng, 1, 3)}}; break;
      case 4: space[name] = {{"type", "int"}, {"low", 2}, {"high", 1024}, {"log", true}}; break;
      case 5:
        space[name] = {{"type", "categorical"}, {"choices", json::array({"adam", "sgd", 3, true})}};
        categoricals.push_back(name);
        break;
      default: space[name] = {{"type", "fixed"}, {"value", 0.5}}; break;
    }
  }
  if (uniform01(rng) < 0.3) space["width_one"] = {{"type", "float"}, {"low", 0.7}, {"high", 0.7}};
  if (!categoricals.empty()) {
    // A child active for two values of a categorical parent, and one under two parents at once.
    space["child"] = {{"type", "float"}, {"low", 0.0}, {"high", 0.99}, {"when", {{categoricals.front(), json::array({"sgd", 3})}}}};
    space["flag"] = {{"type", "categorical"}, {"choices", json::array({false, true})}};
    space["nested"] = {{"type", "int"}, {"low", 1}, {"high", 8}, {"when", {{"flag", json::array({true})}, {categoricals.front(), json::array({"sgd", 3})}}}};
  }
  return SearchSpace::parse(space, "space");
}

// A deterministic objective with a clear optimum, from the internal (log) scale of each parameter.
double synthetic_value(const SearchSpace& space, const Params& params, std::size_t objective) {
  double value = 0;
  for (const auto& spec : space.params()) {
    const auto it = params.find(spec.name);
    if (it == params.end() || spec.type == ParamType::kFixed) continue;
    if (spec.type == ParamType::kCategorical) {
      value += spec.choice_index(*it) == static_cast<int>(objective % spec.choices.size()) ? 1.0 : 0.0;
      continue;
    }
    const auto [low, high] = SearchSpace::internal_bounds(spec);
    const double u = high > low ? (SearchSpace::to_internal(spec, it->get<double>()) - low) / (high - low) : 0.5;
    const double target = objective == 0 ? 0.3 : 0.8;
    value -= (u - target) * (u - target);
  }
  return value;
}

struct Simulation {
  std::vector<Params> proposals;
  json final_state;
};

// Runs a study of `trials` proposals against the synthetic objective with three trials in flight
// (each finishes two proposals later), some pruned with intermediate values and some failed.
// With `resume_at` > 0 the searcher is replaced there by a fresh one given the old one's state(),
// as `lepton resume` does.
Simulation simulate(const SearcherFactory& factory, const SearcherSetup& base, int trials, int resume_at = 0) {
  constexpr int kInFlight = 2;
  Simulation out;
  std::vector<TrialView> history;
  SearcherSetup setup = base;
  std::unique_ptr<Searcher> searcher = factory(setup);
  expect(searcher != nullptr, "the factory returned no searcher");
  auto finish = [&](TrialView& t) {
    if (t.number % 7 == 6) {
      t.state = TrialState::kFail;
    } else if (t.number % 5 == 4) {
      t.state = TrialState::kPruned;
      t.intermediate = {{1, synthetic_value(setup.space, t.params, 0) - 0.5}};
    } else {
      t.state = TrialState::kComplete;
      for (std::size_t o = 0; o < setup.directions.size(); ++o) {
        const double v = synthetic_value(setup.space, t.params, o);
        t.values.push_back(setup.directions[o] == Direction::kMaximize ? v : -v);
      }
      t.intermediate = {{1, t.values.front() - 0.1}, {2, t.values.front()}};
    }
  };
  for (int number = 0; number < trials; ++number) {
    if (resume_at > 0 && number == resume_at) {
      setup.state = searcher->state();
      searcher = factory(setup);
      expect(searcher != nullptr, "the factory returned no searcher on resume");
    }
    SearchContext context;
    context.trial_number = number;
    context.seed = derive_seed(base.seed, static_cast<std::uint64_t>(number), 2);
    context.trials = &history;
    Params params = searcher->suggest(context);
    out.proposals.push_back(params);
    TrialView view;
    view.number = number;
    view.state = TrialState::kRunning;
    view.params = params;
    history.push_back(view);
    if (number >= kInFlight) finish(history[static_cast<std::size_t>(number - kInFlight)]);
  }
  out.final_state = searcher->state();
  return out;
}

// The first condition a proposal breaks (an active parameter missing, an inactive one present).
std::string condition_violation(const SearchSpace& space, const Params& params) {
  if (!params.is_object()) return "";
  Params seen = json::object();
  for (const auto& spec : space.params()) {
    const bool active = space.is_active(spec, params);
    const bool present = params.contains(spec.name);
    if (active && !present) return "active parameter \"" + spec.name + "\" has no value";
    if (!active && present && spec.conditional())
      return "parameter \"" + spec.name + "\" has a value although its condition " + json(spec.when).dump() +
             " does not hold";
  }
  return "";
}

std::string first_difference(const std::vector<Params>& a, const std::vector<Params>& b, std::size_t from = 0) {
  for (std::size_t i = from; i < a.size() && i < b.size(); ++i)
    if (a[i] != b[i]) return "trial " + std::to_string(i) + ": " + a[i].dump() + " then " + b[i].dump();
  return "";
}

}  // namespace

std::vector<CheckResult> check_searcher(const SearcherFactory& factory, const json& settings) {
  ConfigObject cfg(settings, "conformance");
  const json options = cfg.optional<json>("options", json::object());
  const int objectives = static_cast<int>(cfg.integer_in("objectives", 1, 4, 1));
  const int trials = static_cast<int>(cfg.integer_in("trials", 4, 1000, 20));
  const int spaces = static_cast<int>(cfg.integer_in("spaces", 1, 100, 6));
  cfg.finish();

  auto setup_for = [&](std::uint64_t space_seed) {
    SearcherSetup setup;
    setup.space = random_space(space_seed);
    for (int o = 0; o < objectives; ++o) setup.directions.push_back(o % 2 ? Direction::kMinimize : Direction::kMaximize);
    setup.seed = kStudySeed;
    setup.options = options;
    return setup;
  };

  CheckList list;
  const bool created = list.run("creates from its options", [&] {
    expect(factory(setup_for(1)) != nullptr, "the factory returned no searcher");
    return "options " + options.dump() + ", " + std::to_string(objectives) + " objective(s)";
  });
  if (!created) {
    list.skip({"rejects unknown options", "proposals inside the space", "conditions respected", "deterministic for a seed",
               "resume equivalence"},
              "the searcher cannot be created");
    return list.take();
  }
  list.run("rejects unknown options", [&] {
    SearcherSetup setup = setup_for(1);
    setup.options["no_such_option"] = 1;
    return expect_config_error([&] { factory(setup); }, "search.options.no_such_option");
  });

  std::vector<Simulation> runs;
  std::vector<SearcherSetup> setups;
  std::string run_error;
  for (int s = 0; s < spaces && run_error.empty(); ++s) {
    setups.push_back(setup_for(1000 + static_cast<std::uint64_t>(s)));
    try {
      runs.push_back(simulate(factory, setups.back(), trials));
    } catch (const std::exception& e) {
      run_error = "space " + setups.back().space.to_json().dump() + ": " + e.what();
    }
  }
  list.run("proposals inside the space", [&] {
    expect(run_error.empty(), run_error);
    for (std::size_t s = 0; s < runs.size(); ++s)
      for (std::size_t t = 0; t < runs[s].proposals.size(); ++t) {
        const Params& p = runs[s].proposals[t];
        if (!condition_violation(setups[s].space, p).empty()) continue;  // reported by the next check
        if (auto why = setups[s].space.check(p))
          throw CheckFailure("space " + setups[s].space.to_json().dump() + ", trial " + std::to_string(t) + ": " + *why +
                             "; proposed " + p.dump());
      }
    return std::to_string(spaces) + " random spaces x " + std::to_string(trials) +
           " trials (float/int, log, step, categorical, fixed; running, pruned and failed trials in the history)";
  });
  list.run("conditions respected", [&] {
    expect(run_error.empty(), run_error);
    int conditional = 0;
    for (std::size_t s = 0; s < runs.size(); ++s) {
      for (const auto& spec : setups[s].space.params()) conditional += spec.conditional() ? 1 : 0;
      for (std::size_t t = 0; t < runs[s].proposals.size(); ++t) {
        const std::string why = condition_violation(setups[s].space, runs[s].proposals[t]);
        if (!why.empty())
          throw CheckFailure("space " + setups[s].space.to_json().dump() + ", trial " + std::to_string(t) + ": " + why +
                             "; proposed " + runs[s].proposals[t].dump());
      }
    }
    return std::to_string(conditional) + " conditional parameters, each present exactly when its condition holds";
  });
  list.run("deterministic for a seed", [&] {
    expect(run_error.empty(), run_error);
    for (std::size_t s = 0; s < std::min<std::size_t>(2, runs.size()); ++s) {
      const Simulation again = simulate(factory, setups[s], trials);
      const std::string diff = first_difference(runs[s].proposals, again.proposals);
      expect(diff.empty(), "two searchers with the same seed and history proposed differently at " + diff +
                               "; derive all randomness from SearchContext::seed and the history");
    }
    return "the same seed and history give the same proposals";
  });
  list.run("resume equivalence", [&] {
    expect(run_error.empty(), run_error);
    for (std::size_t s = 0; s < std::min<std::size_t>(2, runs.size()); ++s) {
      const int cut = trials / 2;
      const Simulation resumed = simulate(factory, setups[s], trials, cut);
      const std::string diff = first_difference(runs[s].proposals, resumed.proposals, static_cast<std::size_t>(cut));
      expect(diff.empty(), "after a resume at trial " + std::to_string(cut) + " (a new searcher given state() and the "
                           "same history) the proposals differ at " + diff +
                           "; rebuild everything from the history, or return what you keep from state()");
    }
    return "a new searcher given state() and the history continues exactly as the original";
  });
  return list.take();
}

}  // namespace lepton::engine::conformance
