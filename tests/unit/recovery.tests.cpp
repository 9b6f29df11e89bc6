// Recovery of trials whose worker is gone: stale heartbeats, dead local processes, retries queued as
// WAITING copies and claimed before any new trial, and the execution keys that configure it.
#include "run/heartbeat.hpp"
#include "run/worker_identity.hpp"
#include "experiment/execution.hpp"
#include "store/store.hpp"
#include "support/any_store.hpp"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <set>

using lepton::ConfigError;
using lepton::json;
using lepton::TrialState;
using namespace lepton::engine;

namespace {

const std::vector<Objective> kObjectives{{"val_accuracy", lepton::Direction::kMaximize}};

TrialRecord start(Store& store, std::int64_t study, const std::string& worker, json params) {
  std::int64_t cursor = 0;
  auto t = store.start_trial(study, &cursor, worker, [&](int number, std::vector<TrialRecord>) {
    return std::optional<Proposal>(Proposal{params, static_cast<std::uint64_t>(7000 + number), ""});
  });
  REQUIRE(t);
  return *t;
}

// Moves a trial's last heartbeat `seconds` into the past, as if its worker had gone silent.
void age_heartbeat(const lepton::test::AnyStore& store, std::int64_t trial_id, double seconds) {
  store.sql("UPDATE trials SET heartbeat_at = heartbeat_at - " + std::to_string(seconds) +
            " WHERE id = " + std::to_string(trial_id));
}

}  // namespace

TEST_CASE("a silent worker's trial goes stale after the grace period and its retry runs first", "[recovery]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  const json params = {{"lr", 0.01}, {"hidden", 32}};
  const TrialRecord original = start(*store, study.id, "pod-a", params);  // a named worker: heartbeats decide

  CHECK(recover_abandoned_trials(*store, study.id, {/*grace=*/10, /*max_retries=*/1}).empty());  // fresh beat
  age_heartbeat(store, original.id, 50);
  const auto recovered = recover_abandoned_trials(*store, study.id, {10, 1});
  REQUIRE(recovered.size() == 1);
  CHECK(recovered[0].trial.state == TrialState::kFail);
  CHECK_THAT(recovered[0].trial.error,
             Catch::StartsWith("stale: no heartbeat from worker pod-a for 50 s (heartbeat_grace is 10 s)"));
  REQUIRE(recovered[0].retry);
  const TrialRecord& copy = *recovered[0].retry;
  CHECK(copy.state == TrialState::kWaiting);
  CHECK(copy.number == 1);
  CHECK(copy.params == params);
  CHECK(copy.seed == original.seed);  // the same trial again, not a new one
  CHECK(copy.attrs == json{{"retry_of", 0}, {"retry", 1}});
  CHECK(is_infrastructure_failure(recovered[0].trial));
  CHECK(recover_abandoned_trials(*store, study.id, {10, 1}).empty());  // failed once only

  // The next start claims the copy without asking the searcher.
  std::int64_t cursor = 0;
  auto claimed = store->start_trial(study.id, &cursor, "pod-b", [](int, std::vector<TrialRecord>) {
    FAIL("the searcher must not be asked while a retry waits");
    return std::optional<Proposal>();
  });
  REQUIRE(claimed);
  CHECK(claimed->number == 1);
  CHECK(claimed->state == TrialState::kRunning);
  CHECK(claimed->worker == "pod-b");
  CHECK(claimed->params == params);
  CHECK(cursor == 0);  // the change feed is left for the next proposal

  // The retry goes stale too: max_retries 1 is used up, so it fails without another copy.
  age_heartbeat(store, claimed->id, 50);
  const auto again = recover_abandoned_trials(*store, study.id, {10, 1});
  REQUIRE(again.size() == 1);
  CHECK_FALSE(again[0].retry);

  const auto all = store->trials(study.id);
  REQUIRE(all.size() == 2);
  CHECK(all[0].attrs["retried_as"] == 1);
  CHECK(all[1].state == TrialState::kFail);
}

TEST_CASE("a dead local process's trial is interrupted, live ones and this process's are left alone", "[recovery]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const TrialRecord dead = start(*store, study.id, std::string(host) + ":999999999:1", json{{"x", 1}});
  const TrialRecord mine = start(*store, study.id, this_worker(), json{{"x", 2}});
  const TrialRecord elsewhere = start(*store, study.id, "other-host:1:1", json{{"x", 3}});

  const auto recovered = recover_abandoned_trials(*store, study.id, {120, 0});
  REQUIRE(recovered.size() == 1);
  CHECK(recovered[0].trial.id == dead.id);
  CHECK(recovered[0].trial.error == "interrupted");
  CHECK_FALSE(recovered[0].retry);  // max_retries 0
  std::set<std::int64_t> running;
  for (const auto& t : store->running_trials(study.id)) running.insert(t.id);
  CHECK(running == std::set<std::int64_t>{mine.id, elsewhere.id});

  // A process that starts under a name it finds on RUNNING trials knows they are orphans.
  const auto at_start = recover_abandoned_trials(*store, study.id, {120, 0}, /*at_start=*/true);
  REQUIRE(at_start.size() == 1);
  CHECK(at_start[0].trial.id == mine.id);
}

TEST_CASE("abandoning a trial that already ended changes nothing", "[recovery]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  const TrialRecord t = start(*store, study.id, "w", json{{"x", 1}});
  TrialResult done;
  done.values = {0.9};
  REQUIRE(store->finish_trial(t.id, done));
  const Abandoned late = store->abandon_trial(t.id, "interrupted", json{{"retry_of", 0}, {"retry", 1}});
  CHECK_FALSE(late.failed);
  CHECK_FALSE(late.retry);
  const auto all = store->trials(study.id);
  REQUIRE(all.size() == 1);
  CHECK(all[0].state == TrialState::kComplete);
}

TEST_CASE("heartbeats come four times per grace period, at most every 10 s", "[recovery]") {
  CHECK(heartbeat_interval(120).count() == 10'000);
  CHECK(heartbeat_interval(2).count() == 500);
  CHECK(heartbeat_interval(0.01).count() == 50);
}

TEST_CASE("execution keys: isolation, limits, retries and grace periods", "[recovery][experiment]") {
  auto parse = [](const json& root) { return parse_execution(lepton::ConfigObject(root, "")); };
  const ExecutionSection defaults = parse(json::object());
  CHECK(defaults.isolation == Isolation::kThread);
  CHECK(defaults.heartbeat_grace == 120);
  CHECK(defaults.max_retries == 0);
  const ExecutionSection e = parse({{"isolation", "process"}, {"trial_timeout", 90}, {"trial_memory_limit", "2GiB"},
                                    {"max_retries", 2}, {"heartbeat_grace", 30}, {"stop_grace", 5}});
  CHECK(e.isolation == Isolation::kProcess);
  CHECK(e.trial_timeout == 90);
  CHECK(e.trial_memory_limit == 2LL << 30);
  CHECK(e.max_retries == 2);
  CHECK(e.stop_grace == 5);

  CHECK(parse_byte_size("512MiB", "m") == 512LL << 20);
  CHECK(parse_byte_size("512 M", "m") == 512LL << 20);
  CHECK(parse_byte_size("1.5GB", "m") == 1'500'000'000LL);
  CHECK(parse_byte_size(268435456, "m") == 268435456LL);
  CHECK_THROWS_WITH(parse_byte_size("12 parsecs", "m"), Catch::Contains("m: expected a size") && Catch::Contains("unknown unit"));
  CHECK_THROWS_WITH(parse_byte_size("1MiB", "m"), Catch::Contains("at least 64 MiB"));
  CHECK_THROWS_WITH(parse({{"isolation", "fork"}}), Catch::Contains("isolation: expected \"thread\""));
  CHECK_THROWS_WITH(parse({{"trial_timeout", 0}}), Catch::Contains("trial_timeout: expected seconds > 0"));
  CHECK_THROWS_WITH(parse({{"max_retries", -1}}), Catch::Contains("max_retries: expected an integer in [0, 100]"));
  ExecutionSection threads_with_limit;
  threads_with_limit.trial_memory_limit = 1LL << 30;
  CHECK_THROWS_AS(check_execution(threads_with_limit), ConfigError);
}
