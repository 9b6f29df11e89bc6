// Progress views: the counts and ETA, the terminal status line (redrawn in place, never wider than
// the terminal, with bests, failures and log messages printed above it), and the JSON events.
#include "cli/progress.hpp"
#include "cli/progress_json.hpp"
#include "cli/progress_terminal.hpp"
#include "cli/progress_tracker.hpp"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

using lepton::Direction;
using lepton::json;
using lepton::TrialState;
using namespace lepton::cli;
using namespace lepton::engine;

namespace {

const std::vector<Objective> kMax{{"val_accuracy", Direction::kMaximize}};

TrialRecord finished(int number, TrialState state, std::vector<double> values = {}) {
  TrialRecord t;
  t.id = 100 + number;
  t.number = number;
  t.state = state;
  t.values = std::move(values);
  t.params = {{"lr", 0.01}};
  t.started_at = 1'700'000'000.0;
  t.finished_at = t.started_at + 1.5;
  if (state == TrialState::kFail) t.error = "loss is NaN";
  return t;
}

StudyRecord study_named(const std::string& name, std::vector<Objective> objectives = kMax) {
  StudyRecord s;
  s.id = 1;
  s.name = name;
  s.objectives = std::move(objectives);
  return s;
}

}  // namespace

TEST_CASE("the tracker counts states, keeps the best and estimates the time left", "[progress]") {
  ProgressTracker tracker(kMax);
  const auto t0 = ProgressTracker::Clock::now();
  tracker.study_started(/*done=*/2, /*target=*/10);
  tracker.trial_started(finished(2, TrialState::kRunning));
  tracker.trial_started(finished(3, TrialState::kRunning));
  CHECK(tracker.snapshot().running == 2);
  CHECK_FALSE(tracker.snapshot().eta);  // nothing finished in this run yet

  CHECK(tracker.trial_finished(finished(2, TrialState::kComplete, {0.8})));
  CHECK_FALSE(tracker.trial_finished(finished(3, TrialState::kComplete, {0.7})));
  CHECK(tracker.trial_finished(finished(4, TrialState::kComplete, {0.9})));  // never started here: running stays 0
  CHECK_FALSE(tracker.trial_finished(finished(5, TrialState::kPruned)));
  CHECK_FALSE(tracker.trial_finished(finished(6, TrialState::kFail)));
  const ProgressSnapshot s = tracker.snapshot(t0 + std::chrono::seconds(50));
  CHECK(s.done == 7);
  CHECK(s.running == 0);
  CHECK(s.complete == 3);
  CHECK(s.pruned == 1);
  CHECK(s.failed == 1);
  REQUIRE(s.best);
  CHECK(*s.best == 0.9);
  CHECK(s.best_number == 4);
  REQUIRE(s.eta);
  CHECK(*s.eta == Approx(50.0 / 5 * 3).epsilon(0.01));  // 5 trials in 50 s, 3 to go
}

TEST_CASE("with several objectives the tracker follows the Pareto front", "[progress]") {
  const std::vector<Objective> two{{"val_accuracy", Direction::kMaximize}, {"val_loss", Direction::kMinimize}};
  ProgressTracker tracker(two);
  tracker.study_started(0, 5);
  CHECK(tracker.trial_finished(finished(0, TrialState::kComplete, {0.8, 0.5})));
  CHECK(tracker.trial_finished(finished(1, TrialState::kComplete, {0.7, 0.3})));   // a trade-off: joins
  CHECK_FALSE(tracker.trial_finished(finished(2, TrialState::kComplete, {0.6, 0.6})));  // dominated
  CHECK(tracker.trial_finished(finished(3, TrialState::kComplete, {0.9, 0.2})));   // dominates both
  CHECK(tracker.snapshot().front_size == 1);
}

TEST_CASE("the status line fits the terminal and shows counts, best, elapsed and ETA", "[progress]") {
  ProgressSnapshot s;
  s.done = 12;
  s.target = 20;
  s.running = 2;
  s.pruned = 1;
  s.failed = 0;
  s.best = 0.97345;
  s.best_number = 9;
  s.elapsed = 4.1;
  s.eta = 3.2;
  const std::string wide = TerminalProgress::status_line(s, kMax, 200);
  CHECK(wide == "[############--------] 12/20 trials  2 running  1 pruned  0 failed  |  best val_accuracy=0.9735 (#9)  |  "
                "4.1 s elapsed, ETA 3.2 s");
  const std::string narrow = TerminalProgress::status_line(s, kMax, 60);
  CHECK(narrow.size() == 59);  // one column spare: no wrap
  CHECK_THAT(narrow, Catch::StartsWith("12/20 trials  2 running"));
}

TEST_CASE("the terminal view redraws one line and prints bests, failures and log messages above it", "[progress]") {
  std::ostringstream err, log;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  {
    TerminalProgress view(kMax, err, /*width=*/120, /*tick=*/false);
    view.study_started(study_named("bc"), 0, 3, 2, 1);
    const auto t0 = finished(0, TrialState::kRunning);
    view.trial_started(t0);
    spdlog::warn("disk almost full");
    view.trial_finished(finished(0, TrialState::kComplete, {0.9}));
    view.trial_finished(finished(1, TrialState::kFail));
    view.trial_finished(finished(2, TrialState::kComplete, {0.5}));
    view.study_finished(study_named("bc"), {}, "sqlite:///x.db");
  }
  const std::string text = err.str();
  INFO(text);
  CHECK_THAT(text, Catch::StartsWith("study bc: 0 of 3 trials done; running 3 more, 2 at a time (1 torch thread each)\n"));
  CHECK_THAT(text, Catch::Contains("\r\x1b[Kwarning: disk almost full\n"));
  CHECK_THAT(text, Catch::Contains("\r\x1b[Ktrial 0 COMPLETE  val_accuracy=0.9  new best  1.5 s  lr=0.01\n"));
  CHECK_THAT(text, Catch::Contains("trial 1 FAIL  1.5 s  lr=0.01\n        reason: loss is NaN\n"));
  CHECK(text.find("trial 2 COMPLETE") == std::string::npos);  // not a new best: only the status changes
  // The final status stays on screen as the run's summary.
  CHECK(text.find("\r\x1b[K[####################] 3/3 trials  0 running  0 pruned  1 failed  |  best val_accuracy=0.9 (#0)  |  ") !=
        std::string::npos);
  CHECK_THAT(text, Catch::EndsWith(" elapsed\n"));
  // Logging goes back to the previous logger once the view is gone.
  CHECK(log.str().empty());
  spdlog::warn("not through the view");
  CHECK(err.str() == text);
  CHECK_THAT(log.str(), Catch::Contains("not through the view"));
  spdlog::set_default_logger(previous);
}

TEST_CASE("JSON progress is one parseable object per event", "[progress]") {
  std::ostringstream out;
  JsonProgress view(kMax, out);
  view.study_started(study_named("bc"), 1, 3, 1, 2);
  view.trial_started(finished(1, TrialState::kRunning));
  view.trial_finished(finished(1, TrialState::kComplete, {0.75}));
  view.trial_finished(finished(2, TrialState::kPruned));
  view.study_finished(study_named("bc"), {finished(0, TrialState::kComplete, {0.7}), finished(1, TrialState::kComplete, {0.75}),
                                          finished(2, TrialState::kPruned)},
                      "sqlite:///x.db");
  std::vector<json> events;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
  REQUIRE(events.size() == 5);
  CHECK(events[0]["event"] == "study_started");
  CHECK(events[0]["study"] == "bc");
  CHECK(events[0]["target"] == 3);
  CHECK(events[1]["event"] == "trial_started");
  CHECK(events[1]["params"]["lr"] == 0.01);
  CHECK(events[2]["event"] == "trial_finished");
  CHECK(events[2]["trial"]["values"]["val_accuracy"] == 0.75);
  CHECK(events[2]["improved"] == true);
  CHECK(events[2]["progress"]["done"] == 2);
  CHECK(events[2]["progress"]["best"]["number"] == 1);
  CHECK(events[3]["progress"]["pruned"] == 1);
  CHECK(events[3]["progress"]["eta_s"] == 0.0);
  CHECK(events[4]["event"] == "study_finished");
  CHECK(events[4]["best"]["number"] == 1);
  CHECK(events[4]["states"]["PRUNED"] == 1);
  for (const auto& e : events) CHECK(e["time"].is_number());
}
