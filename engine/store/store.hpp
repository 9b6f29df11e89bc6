// The study store: one interface over SQLite (embedded default) and PostgreSQL (many machines).
#pragma once

#include "metrics/objective.hpp"

#include <lepton/searcher.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lepton::engine {

/// A study as stored.
struct StudyRecord {
  std::int64_t id = 0;
  std::string name;
  std::vector<Objective> objectives;
  json spec;              ///< what the study was created from: {"experiment": ..., "data_dirs": [...]}
  double created_at = 0;  ///< Unix time, seconds
};

/// A trial as stored.
struct TrialRecord {
  std::int64_t id = 0;
  std::int64_t study_id = 0;
  int number = 0;
  TrialState state = TrialState::kRunning;
  std::uint64_t seed = 0;
  json params = json::object();
  std::vector<double> values;                ///< one per objective, when COMPLETE
  std::map<std::string, double> metrics;     ///< val_accuracy, test_f1, ...
  std::map<int, double> intermediate;        ///< step (epoch) -> objective value
  json attrs = json::object();
  std::string error;                         ///< why it failed or was pruned
  std::map<std::string, std::string> artifacts;  ///< name -> path of files it saved ("model": its folder)
  std::string worker;                        ///< which process ran it: host:pid:start
  double started_at = 0, finished_at = 0, heartbeat_at = 0;  ///< Unix time, seconds
  std::int64_t version = 0;                  ///< the study's change counter when the trial last changed

  double duration() const { return finished_at > 0 ? finished_at - started_at : 0.0; }
  TrialView view() const;
};

/// How a trial ended.
struct TrialResult {
  TrialState state = TrialState::kComplete;
  std::vector<double> values;
  std::map<std::string, double> metrics;
  std::string error;
  json attrs = json::object();
  std::map<std::string, std::string> artifacts;  ///< recorded with the result, in the same transaction
};

/// What the engine proposes for a trial once its number is known.
struct Proposal {
  json params = json::object();
  std::uint64_t seed = 0;
  std::string error;  ///< non-empty when no valid parameters could be proposed: the trial is stored as FAIL
};

/// What abandon_trial did.
struct Abandoned {
  bool failed = false;               ///< false: the trial was no longer RUNNING and nothing changed
  std::optional<TrialRecord> retry;  ///< the WAITING copy that will run it again, when one was asked for
};

/// Store failures that are not the user's input: busy beyond the timeout, I/O errors, corruption.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure reason written by the engine, not by the trial itself: such trials do not count
/// towards the study's trial budget, so a resumed study still gets all its trials.
inline constexpr const char* kInterruptedReason = "interrupted";
inline constexpr const char* kStaleReason = "stale";
bool is_infrastructure_failure(const TrialRecord& trial);

class Store {
 public:
  virtual ~Store() = default;

  /// The URL it was opened from.
  virtual std::string url() const = 0;

  virtual std::optional<StudyRecord> find_study(const std::string& name) = 0;
  /// Creates the study, or returns the existing one of that name (created by a concurrent worker,
  /// say); `created` tells which.
  virtual StudyRecord create_study(const std::string& name, const std::vector<Objective>& objectives,
                                   const json& spec, bool* created = nullptr) = 0;
  virtual std::vector<StudyRecord> list_studies() = 0;

  /// Starts a trial in one transaction, so numbers are unique and every trial has its params. A
  /// WAITING trial (a retry) is claimed first, by lowest number, without calling `propose` and
  /// without moving `*cursor`. Otherwise `propose` receives the new trial's number and the trials
  /// changed since `*cursor` (which it advances); it returns nothing to start no trial (the budget
  /// is spent).
  using Proposer = std::function<std::optional<Proposal>(int number, std::vector<TrialRecord> changed)>;
  virtual std::optional<TrialRecord> start_trial(std::int64_t study_id, std::int64_t* cursor,
                                                 const std::string& worker, const Proposer& propose) = 0;
  /// Records the objective's value at a step (epoch).
  virtual void report(std::int64_t trial_id, int step, double value) = 0;
  /// Refreshes the heartbeat of running trials.
  virtual void heartbeat(const std::vector<std::int64_t>& trial_ids) = 0;
  /// Ends a running trial. Returns false, changing nothing, when it is no longer RUNNING (another
  /// worker failed it as stale, say).
  virtual bool finish_trial(std::int64_t trial_id, const TrialResult& result) = 0;

  /// Fails a RUNNING trial the engine gave up on (its worker died, went stale or was stopped) with
  /// `reason`; with `retry_attrs`, adds in the same transaction a WAITING copy with the same params
  /// and seed and those attrs (retry_of, retry), to be claimed before any new trial.
  virtual Abandoned abandon_trial(std::int64_t trial_id, const std::string& reason,
                                  const std::optional<json>& retry_attrs) = 0;
  /// The study's RUNNING trials with their worker, heartbeat and attrs (cheap: run before every new trial).
  virtual std::vector<TrialRecord> running_trials(std::int64_t study_id) = 0;
  /// The store's clock in Unix seconds, in which heartbeats are written and judged: the database
  /// server's for PostgreSQL, so hosts with skewed clocks agree; this host's for SQLite.
  virtual double clock() = 0;
  /// Problems with the store itself (SQLite's integrity and foreign-key checks); empty when healthy.
  virtual std::vector<std::string> check_integrity() = 0;

  /// Every trial of the study, by number.
  virtual std::vector<TrialRecord> trials(std::int64_t study_id) = 0;
  /// The trials changed since `*cursor`, which it advances.
  virtual std::vector<TrialRecord> changed_trials(std::int64_t study_id, std::int64_t* cursor) = 0;

  virtual void set_study_attr(std::int64_t study_id, const std::string& key, const json& value) = 0;
  virtual json study_attr(std::int64_t study_id, const std::string& key) = 0;
};

/// Whether opening may create a new, empty store. kInspect opens an existing one for `lepton doctor`,
/// without the damage check that otherwise refuses a damaged SQLite file.
enum class OpenMode { kCreate, kExisting, kInspect };

/// Opens the store at `url`. Throws ConfigError for a malformed URL or, with kExisting, a store
/// that does not exist; StoreError when it cannot be opened.
std::unique_ptr<Store> open_store(const std::string& url, OpenMode mode = OpenMode::kCreate);

/// Current Unix time in seconds.
double unix_now();

}  // namespace lepton::engine
