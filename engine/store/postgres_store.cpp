// PostgreSQL store over libpq. Trial numbers come from the study's row, taken FOR UPDATE, backed by a
// unique (study_id, number) constraint. Every write takes the study row first and the trial rows
// after, so writers never deadlock one another. Timestamps are the server's clock. A lost connection
// (server restart, failover) is re-established with backoff and the transaction retried; a start
// whose COMMIT was lost in flight is found again by its token rather than started twice.
#include "store/postgres_store.hpp"

#include "store/record_codec.hpp"
#include "store/storage_url.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace lepton::engine {

namespace {

constexpr auto kReconnectPatience = std::chrono::seconds(120);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kLongestBackoff = std::chrono::seconds(5);
constexpr int kMaxConflictRetries = 50;
constexpr const char* kSchemaLockKey = "4993981581729628160";  // any constant: serializes schema creation
constexpr const char* kNow = "extract(epoch from clock_timestamp())::double precision";

constexpr const char* kSchema = R"sql(
CREATE TABLE lepton.studies (
  id          BIGSERIAL PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  objectives  TEXT NOT NULL,
  spec        TEXT NOT NULL,
  created_at  DOUBLE PRECISION NOT NULL,
  next_number INTEGER NOT NULL DEFAULT 0,
  version     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE lepton.study_attrs (
  study_id BIGINT NOT NULL REFERENCES lepton.studies(id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (study_id, key)
);
CREATE TABLE lepton.trials (
  id           BIGSERIAL PRIMARY KEY,
  study_id     BIGINT NOT NULL REFERENCES lepton.studies(id) ON DELETE CASCADE,
  number       INTEGER NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
  seed         BIGINT NOT NULL,
  worker       TEXT NOT NULL DEFAULT '',
  started_at   DOUBLE PRECISION,
  finished_at  DOUBLE PRECISION,
  heartbeat_at DOUBLE PRECISION,
  error        TEXT NOT NULL DEFAULT '',
  version      BIGINT NOT NULL,
  token        TEXT,
  UNIQUE (study_id, number)
);
CREATE INDEX trials_by_version ON lepton.trials (study_id, version);
CREATE INDEX trials_by_state ON lepton.trials (study_id, state);
CREATE TABLE lepton.trial_params (
  trial_id BIGINT NOT NULL REFERENCES lepton.trials(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trial_id, name)
);
CREATE TABLE lepton.trial_values (
  trial_id  BIGINT NOT NULL REFERENCES lepton.trials(id) ON DELETE CASCADE,
  objective INTEGER NOT NULL,
  value     DOUBLE PRECISION,
  PRIMARY KEY (trial_id, objective)
);
CREATE TABLE lepton.trial_intermediate (
  trial_id BIGINT NOT NULL REFERENCES lepton.trials(id) ON DELETE CASCADE,
  step     INTEGER NOT NULL,
  value    DOUBLE PRECISION,
  PRIMARY KEY (trial_id, step)
);
CREATE TABLE lepton.trial_metrics (
  trial_id BIGINT NOT NULL REFERENCES lepton.trials(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  value    DOUBLE PRECISION,
  PRIMARY KEY (trial_id, name)
);
CREATE TABLE lepton.trial_attrs (
  trial_id BIGINT NOT NULL REFERENCES lepton.trials(id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trial_id, key)
);
CREATE TABLE lepton.artifacts (
  trial_id BIGINT NOT NULL REFERENCES lepton.trials(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  path     TEXT NOT NULL,
  PRIMARY KEY (trial_id, name)
);
)sql";

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A failed statement; `lost` when the connection itself is gone (the server restarted, say).
class PgFailure : public std::runtime_error {
 public:
  PgFailure(const std::string& message, std::string sqlstate, bool lost)
      : std::runtime_error(message), sqlstate(std::move(sqlstate)), lost(lost) {}
  std::string sqlstate;
  bool lost;
};

// A statement parameter in text form; nullopt is SQL NULL.
using Param = std::optional<std::string>;

Param param(std::int64_t v) { return std::to_string(v); }
Param param(int v) { return std::to_string(v); }
Param param(const std::string& v) { return v; }
Param param(const char* v) { return std::string(v); }
Param param(double v) {
  if (std::isnan(v)) return std::nullopt;
  if (std::isinf(v)) return std::string(v > 0 ? "Infinity" : "-Infinity");
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  return std::string(buffer);
}

// Owns a PGresult.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& other) noexcept : r_(std::exchange(other.r_, nullptr)) {}
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const { return PQgetvalue(r_, row, col); }
  std::int64_t integer(int row, int col) const { return std::stoll(PQgetvalue(r_, row, col)); }
  double real(int row, int col) const { return null(row, col) ? kNaN : std::strtod(PQgetvalue(r_, row, col), nullptr); }

 private:
  PGresult* r_;
};

// libpq waits forever for an unreachable host unless told otherwise; reconnects need a bound.
std::string with_connect_timeout(const std::string& url) {
  if (url.find("connect_timeout=") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=10";
}

std::string random_token() {
  std::random_device device;
  std::mt19937_64 bits((static_cast<std::uint64_t>(device()) << 32) ^ device() ^
                       static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(bits()),
                static_cast<unsigned long long>(bits()));
  return buffer;
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const std::string& url) : shown_url_(redact_password(url)) {
    conn_ = PQconnectdb(with_connect_timeout(url).c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      const std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
      PQfinish(conn_);
      conn_ = nullptr;
      throw StoreError("cannot connect to " + shown_url_ + ": " + why +
                       "; check that the server runs and the URL's user, password, host and database");
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    create_schema();
  }

  ~PostgresStore() override { PQfinish(conn_); }

  std::string url() const override { return shown_url_; }

  std::optional<StudyRecord> find_study(const std::string& name) override {
    std::lock_guard lock(mutex_);
    return run([&]() -> std::optional<StudyRecord> {
      auto r = exec("SELECT id, name, objectives, spec, created_at FROM studies WHERE name = $1", {param(name)});
      if (r.rows() == 0) return std::nullopt;
      return study_from_row(r, 0);
    });
  }

  StudyRecord create_study(const std::string& name, const std::vector<Objective>& objectives, const json& spec,
                           bool* created) override {
    std::lock_guard lock(mutex_);
    return transaction([&] {
      auto inserted = exec(std::string("INSERT INTO studies (name, objectives, spec, created_at) VALUES ($1, $2, $3, ") +
                               kNow + ") ON CONFLICT (name) DO NOTHING RETURNING id, created_at",
                           {param(name), param(objectives_to_json(objectives).dump()), param(spec.dump())});
      if (created) *created = inserted.rows() == 1;
      if (inserted.rows() == 1) return StudyRecord{inserted.integer(0, 0), name, objectives, spec, inserted.real(0, 1)};
      auto r = exec("SELECT id, name, objectives, spec, created_at FROM studies WHERE name = $1", {param(name)});
      return study_from_row(r, 0);
    });
  }

  std::vector<StudyRecord> list_studies() override {
    std::lock_guard lock(mutex_);
    return run([&] {
      auto r = exec("SELECT id, name, objectives, spec, created_at FROM studies ORDER BY id");
      std::vector<StudyRecord> out;
      for (int i = 0; i < r.rows(); ++i) out.push_back(study_from_row(r, i));
      return out;
    });
  }

  std::optional<TrialRecord> start_trial(std::int64_t study_id, std::int64_t* cursor, const std::string& worker,
                                         const Proposer& propose) override {
    std::lock_guard lock(mutex_);
    const std::string token = random_token();
    const std::int64_t cursor_before = *cursor;
    bool retrying = false;
    return transaction([&]() -> std::optional<TrialRecord> {
      *cursor = cursor_before;
      if (retrying) {  // the last attempt's COMMIT may have landed before the connection broke
        auto done = exec("SELECT id FROM trials WHERE study_id = $1 AND token = $2", {param(study_id), param(token)});
        if (done.rows() == 1) return load_where(study_id, "id = $2", done.integer(0, 0)).at(0);
      }
      retrying = true;
      auto study = exec("SELECT next_number FROM studies WHERE id = $1 FOR UPDATE", {param(study_id)});
      if (study.rows() == 0) throw StoreError("study " + std::to_string(study_id) + " does not exist");
      if (auto waiting = claim_waiting(study_id, worker, token)) return waiting;

      const int number = static_cast<int>(study.integer(0, 0));
      std::optional<Proposal> proposal = propose(number, load_trials(study_id, cursor));
      if (!proposal) return std::nullopt;
      auto bump = exec("UPDATE studies SET next_number = next_number + 1, version = version + 1 WHERE id = $1 "
                       "RETURNING version",
                       {param(study_id)});
      const std::int64_t version = bump.integer(0, 0);
      const bool failed = !proposal->error.empty();
      auto insert = exec(std::string("INSERT INTO trials (study_id, number, state, seed, worker, started_at, "
                                     "heartbeat_at, finished_at, error, version, token) VALUES ($1, $2, $3, $4, $5, ") +
                             kNow + ", " + kNow + ", " + (failed ? kNow : "NULL") +
                             ", $6, $7, $8) RETURNING id, started_at",
                         {param(study_id), param(number), param(failed ? "FAIL" : "RUNNING"),
                          param(seed_to_db(proposal->seed)), param(worker), param(proposal->error), param(version),
                          param(token)});
      TrialRecord t;
      t.id = insert.integer(0, 0);
      t.study_id = study_id;
      t.number = number;
      t.state = failed ? TrialState::kFail : TrialState::kRunning;
      t.seed = proposal->seed;
      t.params = proposal->params;
      t.worker = worker;
      t.error = proposal->error;
      t.started_at = t.heartbeat_at = insert.real(0, 1);
      if (failed) t.finished_at = t.started_at;
      t.version = version;
      for (const auto& item : t.params.items())
        exec("INSERT INTO trial_params (trial_id, name, value) VALUES ($1, $2, $3)",
             {param(t.id), param(item.key()), param(item.value().dump())});
      return t;
    });
  }

  void report(std::int64_t trial_id, int step, double value) override {
    std::lock_guard lock(mutex_);
    transaction([&] {
      const std::int64_t version = bump_version_of_trial(trial_id);
      exec("INSERT INTO trial_intermediate (trial_id, step, value) VALUES ($1, $2, $3) "
           "ON CONFLICT (trial_id, step) DO UPDATE SET value = EXCLUDED.value",
           {param(trial_id), param(step), param(value)});
      exec(std::string("UPDATE trials SET version = $1, heartbeat_at = ") + kNow + " WHERE id = $2",
           {param(version), param(trial_id)});
    });
  }

  void heartbeat(const std::vector<std::int64_t>& trial_ids) override {
    if (trial_ids.empty()) return;
    std::string ids = "{";
    for (std::size_t i = 0; i < trial_ids.size(); ++i) ids += (i ? "," : "") + std::to_string(trial_ids[i]);
    ids += "}";
    std::lock_guard lock(mutex_);
    run([&] {
      exec(std::string("UPDATE trials SET heartbeat_at = ") + kNow +
               " WHERE id = ANY($1::bigint[]) AND state = 'RUNNING'",
           {param(ids)});
    });
  }

  bool finish_trial(std::int64_t trial_id, const TrialResult& result) override {
    std::lock_guard lock(mutex_);
    return transaction([&] {
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto updated = exec(std::string("UPDATE trials SET state = $1, finished_at = ") + kNow +
                              ", error = $2, version = $3 WHERE id = $4 AND state = 'RUNNING' RETURNING id",
                          {param(to_string(result.state)), param(result.error), param(version), param(trial_id)});
      if (updated.rows() == 0) return false;
      for (std::size_t i = 0; i < result.values.size(); ++i)
        exec("INSERT INTO trial_values (trial_id, objective, value) VALUES ($1, $2, $3) "
             "ON CONFLICT (trial_id, objective) DO UPDATE SET value = EXCLUDED.value",
             {param(trial_id), param(static_cast<int>(i)), param(result.values[i])});
      for (const auto& [name, value] : result.metrics)
        exec("INSERT INTO trial_metrics (trial_id, name, value) VALUES ($1, $2, $3) "
             "ON CONFLICT (trial_id, name) DO UPDATE SET value = EXCLUDED.value",
             {param(trial_id), param(name), param(value)});
      insert_attrs(trial_id, result.attrs);
      insert_artifacts(trial_id, result);
      return true;
    });
  }

  Abandoned abandon_trial(std::int64_t trial_id, const std::string& reason,
                          const std::optional<json>& retry_attrs) override {
    std::lock_guard lock(mutex_);
    return transaction([&] {
      Abandoned out;
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto updated = exec(std::string("UPDATE trials SET state = 'FAIL', finished_at = ") + kNow +
                              ", error = $1, version = $2 WHERE id = $3 AND state = 'RUNNING' RETURNING study_id",
                          {param(reason), param(version), param(trial_id)});
      if (updated.rows() == 0) return out;
      out.failed = true;
      if (!retry_attrs) return out;
      const std::int64_t study_id = updated.integer(0, 0);
      auto bump = exec("UPDATE studies SET next_number = next_number + 1, version = version + 1 WHERE id = $1 "
                       "RETURNING next_number - 1, version",
                       {param(study_id)});
      const std::int64_t number = bump.integer(0, 0), copy_version = bump.integer(0, 1);
      auto copy = exec("INSERT INTO trials (study_id, number, state, seed, version) "
                       "SELECT study_id, $1, 'WAITING', seed, $2 FROM trials WHERE id = $3 RETURNING id",
                       {param(number), param(copy_version), param(trial_id)});
      const std::int64_t copy_id = copy.integer(0, 0);
      exec("INSERT INTO trial_params (trial_id, name, value) SELECT $1, name, value FROM trial_params WHERE trial_id = $2",
           {param(copy_id), param(trial_id)});
      insert_attrs(copy_id, *retry_attrs);
      insert_attrs(trial_id, json{{"retried_as", number}});
      out.retry = load_where(study_id, "id = $2", copy_id).at(0);
      return out;
    });
  }

  std::vector<TrialRecord> running_trials(std::int64_t study_id) override {
    std::lock_guard lock(mutex_);
    return snapshot([&] { return load_where(study_id, "state = 'RUNNING'"); });
  }

  double clock() override {
    std::lock_guard lock(mutex_);
    return run([&] { return exec(std::string("SELECT ") + kNow).real(0, 0); });
  }

  std::vector<std::string> check_integrity() override { return {}; }  // the server keeps its own pages sound

  std::vector<TrialRecord> trials(std::int64_t study_id) override {
    std::int64_t cursor = 0;
    return changed_trials(study_id, &cursor);
  }

  std::vector<TrialRecord> changed_trials(std::int64_t study_id, std::int64_t* cursor) override {
    std::lock_guard lock(mutex_);
    const std::int64_t before = *cursor;
    return snapshot([&] {
      *cursor = before;
      return load_trials(study_id, cursor);
    });
  }

  void set_study_attr(std::int64_t study_id, const std::string& key, const json& value) override {
    std::lock_guard lock(mutex_);
    run([&] {
      exec("INSERT INTO study_attrs (study_id, key, value) VALUES ($1, $2, $3) "
           "ON CONFLICT (study_id, key) DO UPDATE SET value = EXCLUDED.value",
           {param(study_id), param(key), param(value.dump())});
    });
  }

  json study_attr(std::int64_t study_id, const std::string& key) override {
    std::lock_guard lock(mutex_);
    return run([&] {
      auto r = exec("SELECT value FROM study_attrs WHERE study_id = $1 AND key = $2", {param(study_id), param(key)});
      return r.rows() == 1 ? json::parse(r.text(0, 0)) : json();
    });
  }

 private:
  // libpq's messages span lines ("FATAL: ...\n\tThis probably means..."): one line for ours.
  static std::string trimmed(const char* message) {
    std::string out;
    for (const char* p = message ? message : ""; *p; ++p) {
      const bool space = *p == '\n' || *p == '\t' || *p == ' ';
      if (space && (out.empty() || out.back() == ' ')) continue;
      out += space ? ' ' : *p;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

  Result exec(const std::string& sql, const std::vector<Param>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* raw = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                 nullptr, 0);
    Result r(raw);
    const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    const char* code = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = code ? code : "";
    const bool lost = PQstatus(conn_) == CONNECTION_BAD || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" ||
                      sqlstate == "57P02" || sqlstate == "57P03";
    throw PgFailure(trimmed(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_)), sqlstate, lost);
  }

  // Runs `body` (statements without BEGIN: each its own transaction), reconnecting and retrying
  // when the connection is lost or a serialization conflict aborts it. `begin` starts a transaction.
  template <typename Body>
  auto attempt(Body&& body, const char* begin) -> decltype(body()) {
    for (int conflicts = 0;;) {
      try {
        ensure_connected();
        if (begin) exec(begin);
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          if (begin) exec("COMMIT");
          return;
        } else {
          auto result = body();
          if (begin) exec("COMMIT");
          return result;
        }
      } catch (const PgFailure& f) {
        if (f.lost) continue;  // ensure_connected() reconnects, with backoff
        if (begin) rollback();
        const bool conflict = f.sqlstate == "40001" || f.sqlstate == "40P01";
        if (conflict && ++conflicts < kMaxConflictRetries) continue;
        throw StoreError(shown_url_ + ": " + f.what());
      } catch (...) {
        if (begin && PQstatus(conn_) == CONNECTION_OK) rollback();
        throw;
      }
    }
  }
  template <typename Body>
  auto transaction(Body&& body) -> decltype(body()) {
    return attempt(std::forward<Body>(body), "BEGIN");
  }
  // A consistent read across tables.
  template <typename Body>
  auto snapshot(Body&& body) -> decltype(body()) {
    return attempt(std::forward<Body>(body), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  }
  template <typename Body>
  auto run(Body&& body) -> decltype(body()) {
    return attempt(std::forward<Body>(body), nullptr);
  }

  void rollback() noexcept { PQclear(PQexec(conn_, "ROLLBACK")); }

  void ensure_connected() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    std::cerr << "warning: lost the connection to " << shown_url_ << " (" << trimmed(PQerrorMessage(conn_))
              << "); reconnecting" << std::endl;
    const auto deadline = std::chrono::steady_clock::now() + kReconnectPatience;
    auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
    for (;;) {
      PQreset(conn_);
      if (PQstatus(conn_) == CONNECTION_OK) break;
      if (std::chrono::steady_clock::now() + backoff > deadline)
        throw StoreError("lost the connection to " + shown_url_ + " and could not reconnect within " +
                         std::to_string(kReconnectPatience.count()) + " s: " + trimmed(PQerrorMessage(conn_)));
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kLongestBackoff));
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    exec("SET search_path TO lepton");
    std::cerr << "warning: reconnected to " << shown_url_ << std::endl;
  }

  // Creates the schema once: concurrent first workers queue on an advisory lock, and the ones after
  // the first find the schema version inside their transaction.
  void create_schema() {
    transaction([&] {
      exec(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
      auto meta = exec("SELECT to_regclass('lepton.meta') IS NOT NULL, to_regclass('lepton.studies') IS NOT NULL");
      const bool has_meta = meta.text(0, 0) == "t", has_studies = meta.text(0, 1) == "t";
      if (!has_meta && has_studies)
        throw StoreError(shown_url_ + ": schema \"lepton\" holds tables of another application, not a Lepton store");
      if (!has_meta) {
        exec("CREATE SCHEMA IF NOT EXISTS lepton");
        exec("CREATE TABLE lepton.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        const std::string schema = kSchema;
        auto error = PQexec(conn_, schema.c_str());
        Result r(error);
        if (PQresultStatus(error) != PGRES_COMMAND_OK)
          throw StoreError(shown_url_ + ": cannot create the schema: " + trimmed(PQresultErrorMessage(error)));
        exec("INSERT INTO lepton.meta (key, value) VALUES ('schema_version', $1), ('application', 'lepton')",
             {param(kPostgresSchemaVersion)});
      }
      auto version = exec("SELECT value FROM lepton.meta WHERE key = 'schema_version'");
      const int found = version.rows() == 1 ? std::stoi(version.text(0, 0)) : 0;
      if (found > kPostgresSchemaVersion)
        throw StoreError(shown_url_ + ": written by a newer Lepton (store schema " + std::to_string(found) +
                         ", this build reads up to " + std::to_string(kPostgresSchemaVersion) + "); upgrade lepton");
    });
    run([&] { exec("SET search_path TO lepton"); });
  }

  StudyRecord study_from_row(const Result& r, int row) const {
    return StudyRecord{r.integer(row, 0), r.text(row, 1), objectives_from_json(json::parse(r.text(row, 2))),
                       json::parse(r.text(row, 3)), r.real(row, 4)};
  }

  // Takes the study's row (the lock every writer takes first) and returns its next change number.
  std::int64_t bump_version_of_trial(std::int64_t trial_id) {
    auto bump = exec("UPDATE studies SET version = version + 1 WHERE id = (SELECT study_id FROM trials WHERE id = $1) "
                     "RETURNING version",
                     {param(trial_id)});
    if (bump.rows() == 0) throw StoreError("trial " + std::to_string(trial_id) + " does not exist");
    return bump.integer(0, 0);
  }

  // Runs inside start_trial's transaction, with the study's row already locked.
  std::optional<TrialRecord> claim_waiting(std::int64_t study_id, const std::string& worker, const std::string& token) {
    auto waiting = exec("SELECT id FROM trials WHERE study_id = $1 AND state = 'WAITING' ORDER BY number LIMIT 1",
                        {param(study_id)});
    if (waiting.rows() == 0) return std::nullopt;
    const std::int64_t id = waiting.integer(0, 0);
    auto bump = exec("UPDATE studies SET version = version + 1 WHERE id = $1 RETURNING version", {param(study_id)});
    exec(std::string("UPDATE trials SET state = 'RUNNING', worker = $1, started_at = ") + kNow +
             ", heartbeat_at = " + kNow + ", version = $2, token = $3 WHERE id = $4",
         {param(worker), param(bump.integer(0, 0)), param(token), param(id)});
    return load_where(study_id, "id = $2", id).at(0);
  }

  void insert_artifacts(std::int64_t trial_id, const TrialResult& result) {
    for (const auto& [name, path] : result.artifacts)
      exec("INSERT INTO artifacts (trial_id, name, path) VALUES ($1, $2, $3) "
           "ON CONFLICT (trial_id, name) DO UPDATE SET path = EXCLUDED.path",
           {param(trial_id), param(name), param(path)});
  }

  void insert_attrs(std::int64_t trial_id, const json& attrs) {
    for (const auto& item : attrs.items())
      exec("INSERT INTO trial_attrs (trial_id, key, value) VALUES ($1, $2, $3) "
           "ON CONFLICT (trial_id, key) DO UPDATE SET value = EXCLUDED.value",
           {param(trial_id), param(item.key()), param(item.value().dump())});
  }

  std::vector<TrialRecord> load_trials(std::int64_t study_id, std::int64_t* cursor) {
    auto out = load_where(study_id, "version > $2", *cursor);
    for (const auto& t : out) *cursor = std::max(*cursor, t.version);
    return out;
  }

  // The study's trials matching `condition` (SQL over trials, with $2 bound to `arg` when given), by number.
  std::vector<TrialRecord> load_where(std::int64_t study_id, const std::string& condition,
                                      std::optional<std::int64_t> arg = std::nullopt) {
    std::vector<Param> params{param(study_id)};
    if (arg) params.push_back(param(*arg));
    auto r = exec("SELECT id, number, state, seed, worker, started_at, finished_at, heartbeat_at, error, version "
                  "FROM trials WHERE study_id = $1 AND " + condition + " ORDER BY number",
                  params);
    std::vector<TrialRecord> out;
    std::unordered_map<std::int64_t, std::size_t> index;
    for (int i = 0; i < r.rows(); ++i) {
      TrialRecord t;
      t.id = r.integer(i, 0);
      t.study_id = study_id;
      t.number = static_cast<int>(r.integer(i, 1));
      t.state = trial_state_from_string(r.text(i, 2));
      t.seed = seed_from_db(r.integer(i, 3));
      t.worker = r.text(i, 4);
      t.started_at = r.real(i, 5);
      t.finished_at = r.real(i, 6);
      t.heartbeat_at = r.real(i, 7);
      t.error = r.text(i, 8);
      t.version = r.integer(i, 9);
      index[t.id] = out.size();
      out.push_back(std::move(t));
    }
    if (out.empty()) return out;
    auto for_each_row = [&](const std::string& select, auto&& apply) {
      auto rows = exec(select + " WHERE trial_id IN (SELECT id FROM trials WHERE study_id = $1 AND " + condition + ")",
                       params);
      for (int i = 0; i < rows.rows(); ++i) {
        const auto it = index.find(rows.integer(i, 0));
        if (it != index.end()) apply(out[it->second], rows, i);
      }
    };
    for_each_row("SELECT trial_id, name, value FROM trial_params", [](TrialRecord& t, const Result& q, int i) {
      t.params[q.text(i, 1)] = json::parse(q.text(i, 2));
    });
    for_each_row("SELECT trial_id, objective, value FROM trial_values", [](TrialRecord& t, const Result& q, int i) {
      const auto k = static_cast<std::size_t>(q.integer(i, 1));
      if (t.values.size() <= k) t.values.resize(k + 1, kNaN);
      t.values[k] = q.real(i, 2);
    });
    for_each_row("SELECT trial_id, step, value FROM trial_intermediate", [](TrialRecord& t, const Result& q, int i) {
      t.intermediate[static_cast<int>(q.integer(i, 1))] = q.real(i, 2);
    });
    for_each_row("SELECT trial_id, name, value FROM trial_metrics",
                 [](TrialRecord& t, const Result& q, int i) { t.metrics[q.text(i, 1)] = q.real(i, 2); });
    for_each_row("SELECT trial_id, key, value FROM trial_attrs", [](TrialRecord& t, const Result& q, int i) {
      t.attrs[q.text(i, 1)] = json::parse(q.text(i, 2));
    });
    for_each_row("SELECT trial_id, name, path FROM artifacts",
                 [](TrialRecord& t, const Result& q, int i) { t.artifacts[q.text(i, 1)] = q.text(i, 2); });
    return out;
  }

  std::string shown_url_;
  PGconn* conn_ = nullptr;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url) { return std::make_unique<PostgresStore>(url); }

}  // namespace lepton::engine
