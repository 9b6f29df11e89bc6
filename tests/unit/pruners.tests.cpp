// The median and ASHA rules on hand-made histories with known answers.
#include "run/pruners.hpp"

#include <catch2/catch.hpp>

using namespace lepton::engine;
using lepton::Direction;
using lepton::TrialState;
using lepton::TrialView;

namespace {

TrialView trial(int number, TrialState state, std::map<int, double> values) {
  TrialView t;
  t.number = number;
  t.state = state;
  t.intermediate = std::move(values);
  return t;
}

PrunerSpec median_spec(int warmup, int min_trials) {
  PrunerSpec s;
  s.type = "median";
  s.warmup_epochs = warmup;
  s.min_trials = min_trials;
  return s;
}

PrunerSpec asha_spec(int min_epochs, int factor) {
  PrunerSpec s;
  s.type = "asha";
  s.min_epochs = min_epochs;
  s.reduction_factor = factor;
  return s;
}

}  // namespace

TEST_CASE("median: prunes a trial whose best so far is below the completed trials' median", "[pruners]") {
  const std::vector<TrialView> history{
      trial(0, TrialState::kComplete, {{1, 0.5}, {2, 0.7}, {3, 0.8}}),
      trial(1, TrialState::kComplete, {{1, 0.4}, {2, 0.6}, {3, 0.7}}),
      trial(2, TrialState::kComplete, {{1, 0.6}, {2, 0.8}, {3, 0.9}}),
      trial(3, TrialState::kPruned, {{1, 0.1}, {2, 0.1}}),  // not counted: only COMPLETE trials set the bar
  };
  MedianPruner pruner(median_spec(1, 3), Direction::kMaximize);
  auto with = [&](TrialView t) {
    auto all = history;
    all.push_back(std::move(t));
    return all;
  };
  // Epoch 2's median is 0.7.
  CHECK(pruner.should_prune(4, 2, with(trial(4, TrialState::kRunning, {{1, 0.3}, {2, 0.65}}))));
  CHECK_FALSE(pruner.should_prune(4, 2, with(trial(4, TrialState::kRunning, {{1, 0.3}, {2, 0.7}}))));
  // The best value so far counts, not the last one.
  CHECK_FALSE(pruner.should_prune(4, 2, with(trial(4, TrialState::kRunning, {{1, 0.75}, {2, 0.5}}))));
  // Warm-up: epoch 1 never prunes.
  CHECK_FALSE(pruner.should_prune(4, 1, with(trial(4, TrialState::kRunning, {{1, 0.0}}))));
  // Too few completed trials with a value at this epoch.
  MedianPruner strict(median_spec(0, 4), Direction::kMaximize);
  CHECK_FALSE(strict.should_prune(4, 2, with(trial(4, TrialState::kRunning, {{1, 0.0}, {2, 0.0}}))));
  // Minimizing flips the comparison: epoch 3's median loss is 0.8.
  MedianPruner losses(median_spec(0, 3), Direction::kMinimize);
  CHECK(losses.should_prune(4, 3, with(trial(4, TrialState::kRunning, {{1, 0.95}, {2, 0.9}, {3, 0.85}}))));
  CHECK_FALSE(losses.should_prune(4, 3, with(trial(4, TrialState::kRunning, {{1, 0.95}, {2, 0.9}, {3, 0.75}}))));
}

TEST_CASE("asha: rungs at min_epochs * factor^k, below the last epoch", "[pruners]") {
  AshaPruner pruner(asha_spec(1, 3), Direction::kMaximize, 27);
  std::vector<int> rungs;
  for (int e = 1; e <= 27; ++e)
    if (pruner.is_rung(e)) rungs.push_back(e);
  CHECK(rungs == std::vector<int>{1, 3, 9});
  AshaPruner two(asha_spec(2, 2), Direction::kMaximize, 16);
  rungs.clear();
  for (int e = 1; e <= 16; ++e)
    if (two.is_rung(e)) rungs.push_back(e);
  CHECK(rungs == std::vector<int>{2, 4, 8});
}

TEST_CASE("asha: only the top 1/factor of a rung goes on", "[pruners]") {
  AshaPruner pruner(asha_spec(1, 3), Direction::kMaximize, 27);
  // The first trial at a rung always goes on.
  CHECK_FALSE(pruner.should_prune(0, 1, {trial(0, TrialState::kRunning, {{1, 0.1}})}));
  // Between rungs nothing is pruned.
  CHECK_FALSE(pruner.should_prune(0, 2, {trial(0, TrialState::kRunning, {{1, 0.1}, {2, 0.0}})}));
  // Five values at rung 1 plus this one: six, so the best two go on.
  std::vector<TrialView> history;
  const double values[] = {0.50, 0.80, 0.60, 0.90, 0.70};
  for (int i = 0; i < 5; ++i) history.push_back(trial(i, TrialState::kPruned, {{1, values[i]}}));
  auto with = [&](double v) {
    auto all = history;
    all.push_back(trial(5, TrialState::kRunning, {{1, v}}));
    return all;
  };
  CHECK_FALSE(pruner.should_prune(5, 1, with(0.95)));  // best
  CHECK_FALSE(pruner.should_prune(5, 1, with(0.85)));  // second: 0.85 >= 0.85 (the second best)
  CHECK(pruner.should_prune(5, 1, with(0.75)));        // third
  // With two values only the better one goes on (Optuna's rule keeps at least one).
  CHECK(pruner.should_prune(1, 1, {trial(0, TrialState::kComplete, {{1, 0.9}}), trial(1, TrialState::kRunning, {{1, 0.8}})}));
  CHECK_FALSE(pruner.should_prune(1, 1, {trial(0, TrialState::kComplete, {{1, 0.9}}), trial(1, TrialState::kRunning, {{1, 0.95}})}));
  // Minimizing: lower is better.
  AshaPruner losses(asha_spec(1, 3), Direction::kMinimize, 27);
  CHECK_FALSE(losses.should_prune(1, 1, {trial(0, TrialState::kComplete, {{1, 0.9}}), trial(1, TrialState::kRunning, {{1, 0.8}})}));
}

TEST_CASE("the pruner section parses with defaults and rejects what it does not know", "[pruners]") {
  const auto asha = PrunerSpec::parse({{"type", "asha"}}, "pruner");
  CHECK(asha.min_epochs == 1);
  CHECK(asha.reduction_factor == 3);
  const auto median = PrunerSpec::parse({{"type", "median"}, {"warmup_epochs", 2}}, "pruner");
  CHECK(median.warmup_epochs == 2);
  CHECK(median.min_trials == 5);
  CHECK_THROWS_WITH(PrunerSpec::parse({{"type", "asha"}, {"reduction_factor", 1}}, "pruner"),
                    Catch::Contains("pruner.reduction_factor"));
  CHECK_THROWS_WITH(PrunerSpec::parse({{"type", "median"}, {"min_epochs", 2}}, "pruner"), Catch::Contains("min_epochs"));
  CHECK_THROWS_WITH(PrunerSpec::parse({{"type", "hyperband"}}, "pruner"), Catch::Contains("pruner.type"));
}
