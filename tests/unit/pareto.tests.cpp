// Pareto dominance, non-dominated sorting and crowding (SDK), and the front the reports show.
#include "report/ranking.hpp"

#include <lepton/pareto.hpp>

#include <catch2/catch.hpp>

#include <limits>

using lepton::Direction;

TEST_CASE("dominance needs no worse everywhere and better somewhere", "[pareto]") {
  CHECK(lepton::dominates({1, 2}, {2, 2}));
  CHECK(lepton::dominates({1, 1}, {2, 2}));
  CHECK_FALSE(lepton::dominates({1, 2}, {1, 2}));
  CHECK_FALSE(lepton::dominates({1, 3}, {2, 2}));
  CHECK(lepton::to_minimization({0.9, 0.3}, {Direction::kMaximize, Direction::kMinimize}) == std::vector<double>{-0.9, 0.3});
}

TEST_CASE("non-dominated sorting peels fronts and crowding favours the extremes", "[pareto]") {
  // Three fronts on f1 + f2: {0,1,2,3} on f1 + f2 = 4, {4,5} behind them, {6} behind everything;
  // 7 duplicates 1 and shares its front.
  const std::vector<std::vector<double>> points = {{0, 4}, {1, 3}, {3, 1}, {4, 0}, {2, 4}, {4, 2}, {5, 5}, {1, 3}};
  const auto fronts = lepton::non_dominated_fronts(points);
  REQUIRE(fronts.size() == 3);
  CHECK(fronts[0] == std::vector<std::size_t>{0, 1, 2, 3, 7});
  CHECK(fronts[1] == std::vector<std::size_t>{4, 5});
  CHECK(fronts[2] == std::vector<std::size_t>{6});
  CHECK(lepton::non_dominated_fronts(points, 5).size() == 1);  // stops once enough points are sorted
  CHECK(lepton::non_dominated_fronts(points, 6).size() == 2);

  const std::vector<std::size_t> front{0, 1, 2, 3};
  const auto crowding = lepton::crowding_distance(points, front);
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(crowding[0] == inf);
  CHECK(crowding[3] == inf);
  // Point 1's neighbours on f1 are 0 and 3 (gap 3 of range 4), on f2 also 3 of 4.
  CHECK(crowding[1] == Approx(1.5));
  CHECK(crowding[2] == Approx(1.5));
}

TEST_CASE("the reported Pareto front holds the non-dominated complete trials, best first", "[pareto]") {
  using namespace lepton::engine;
  const std::vector<Objective> objectives{{"val_accuracy", Direction::kMaximize}, {"val_loss", Direction::kMinimize}};
  std::vector<TrialRecord> trials;
  auto add = [&](int number, lepton::TrialState state, std::vector<double> values) {
    TrialRecord t;
    t.number = number;
    t.state = state;
    t.values = std::move(values);
    trials.push_back(t);
  };
  add(0, lepton::TrialState::kComplete, {0.90, 0.30});
  add(1, lepton::TrialState::kComplete, {0.95, 0.40});  // front: most accurate
  add(2, lepton::TrialState::kComplete, {0.85, 0.20});  // front: lowest loss
  add(3, lepton::TrialState::kComplete, {0.85, 0.35});  // dominated by 0
  add(4, lepton::TrialState::kFail, {0.99, 0.01});      // failed: not a candidate
  add(5, lepton::TrialState::kComplete, {std::nan(""), 0.1});
  const auto front = ranked_front(trials, objectives);
  REQUIRE(front.size() == 3);
  CHECK(front[0].number == 1);
  CHECK(front[1].number == 0);
  CHECK(front[2].number == 2);
}
