// SQLite store. Every write is one BEGIN IMMEDIATE transaction, so concurrent processes queue on the
// busy timeout instead of failing with "database is locked", and a crash at any moment leaves either
// the whole write or none of it.
#include "store/sqlite_store.hpp"

#include "store/record_codec.hpp"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <type_traits>
#include <unistd.h>
#include <unordered_map>
#include <utility>

namespace lepton::engine {

namespace {

constexpr int kApplicationId = 0x4C455054;  // "LEPT": marks the file as a Lepton store
constexpr int kBusyTimeoutMs = 60'000;

constexpr const char* kSchema = R"sql(
CREATE TABLE studies (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  objectives  TEXT NOT NULL,
  spec        TEXT NOT NULL,
  created_at  REAL NOT NULL,
  next_number INTEGER NOT NULL DEFAULT 0,
  version     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE study_attrs (
  study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (study_id, key)
) WITHOUT ROWID;
CREATE TABLE trials (
  id           INTEGER PRIMARY KEY,
  study_id     INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
  number       INTEGER NOT NULL,
  state        TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
  seed         INTEGER NOT NULL,
  worker       TEXT NOT NULL DEFAULT '',
  started_at   REAL,
  finished_at  REAL,
  heartbeat_at REAL,
  error        TEXT NOT NULL DEFAULT '',
  version      INTEGER NOT NULL,
  UNIQUE (study_id, number)
);
CREATE INDEX trials_by_version ON trials (study_id, version);
CREATE INDEX trials_by_state ON trials (study_id, state);
CREATE TABLE trial_params (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;
CREATE TABLE trial_values (
  trial_id  INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  objective INTEGER NOT NULL,
  value     REAL,
  PRIMARY KEY (trial_id, objective)
) WITHOUT ROWID;
CREATE TABLE trial_intermediate (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  step     INTEGER NOT NULL,
  value    REAL,
  PRIMARY KEY (trial_id, step)
) WITHOUT ROWID;
CREATE TABLE trial_metrics (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  value    REAL,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;
CREATE TABLE trial_attrs (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  key      TEXT NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (trial_id, key)
) WITHOUT ROWID;
CREATE TABLE artifacts (
  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  path     TEXT NOT NULL,
  PRIMARY KEY (trial_id, name)
) WITHOUT ROWID;
)sql";

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Why a write failed when SQLite only says "disk I/O error" (it does not keep the errno): a full
// file system or a file-size limit, when either holds.
std::string write_failure_cause(sqlite3* db) {
  const char* file = sqlite3_db_filename(db, "main");
  struct statvfs fs {};
  if (file && *file && statvfs(std::filesystem::path(file).parent_path().c_str(), &fs) == 0 &&
      static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize) < 4.0 * (1 << 20))
    return "the disk is full";
  rlimit limit {};
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
    return "a file-size limit (ulimit -f) of " + std::to_string(limit.rlim_cur) + " bytes was reached";
  return "";
}

// One message per failure a user can act on; the raw SQLite text otherwise.
std::string describe_error(sqlite3* db, const std::string& url, const std::string& what) {
  const int extended = sqlite3_extended_errcode(db);
  const int code = extended & 0xff;
  const int system_errno = sqlite3_system_errno(db);
  if (code == SQLITE_IOERR && (system_errno == ENOSPC || system_errno == EDQUOT || system_errno == EFBIG))
    return url + ": cannot write: " + std::strerror(system_errno) +
           "; the last transaction was rolled back and the file is intact; free space, then resume the study";
  if (extended == SQLITE_IOERR_WRITE || extended == SQLITE_IOERR_FSYNC || extended == SQLITE_IOERR_TRUNCATE) {
    const std::string cause = write_failure_cause(db);
    if (!cause.empty())
      return url + ": cannot write: " + cause +
             "; the last transaction was rolled back and the file is intact; make room, then resume the study";
  }
  switch (code) {
    case SQLITE_NOTADB: return url + ": the file is not an SQLite database (or is corrupt); nothing was changed";
    case SQLITE_CORRUPT: return url + ": the database is corrupt; `sqlite3 FILE .recover` may save its content";
    case SQLITE_FULL:
      return url + ": the disk is full; the last transaction was rolled back and the file is intact; free space, "
                   "then resume the study";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return url + ": cannot write the database or its -wal file (" + sqlite3_errmsg(db) +
             "); check the permissions of the file and its folder";
    case SQLITE_BUSY:
      return url + ": the database stayed locked for " + std::to_string(kBusyTimeoutMs / 1000) +
             " s; another process holds a long write";
    default: {
      std::string message = url + ": " + what + " failed: " + sqlite3_errmsg(db);
      if (system_errno != 0) message += std::string(" (") + std::strerror(system_errno) + ")";
      return message;
    }
  }
}

// A cached prepared statement, reset and unbound when the wrapper goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, const std::string& url) : db_(db), stmt_(stmt), url_(url) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& bind(int i, int v) { return check(sqlite3_bind_int64(stmt_, i, v)); }
  Statement& bind(int i, double v) {
    return check(std::isnan(v) ? sqlite3_bind_null(stmt_, i) : sqlite3_bind_double(stmt_, i, v));
  }
  Statement& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  // Returns true while rows remain.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(describe_error(db_, url_, sqlite3_sql(stmt_)));
  }
  void run() {
    while (step()) {
    }
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL ? kNaN : sqlite3_column_double(stmt_, col);
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK) throw StoreError(describe_error(db_, url_, "bind"));
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const std::string& url_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, std::string url, bool check_damage) : url_(std::move(url)) {
    namespace fs = std::filesystem;
    if (path != ":memory:") {
      const fs::path parent = fs::absolute(path).parent_path();
      std::error_code ec;
      if (!fs::is_directory(parent, ec))
        throw StoreError("cannot open " + url_ + ": folder " + parent.string() + " does not exist; create it first");
      if (fs::exists(path, ec) && fs::is_directory(path, ec))
        throw StoreError("cannot open " + url_ + ": " + path + " is a folder, not a database file");
      if (!fs::exists(path, ec) && access(parent.c_str(), W_OK) != 0)
        throw StoreError("cannot create " + url_ + ": folder " + parent.string() + " is not writable (" +
                         std::strerror(errno) + ")");
    }
    const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                   nullptr);
    if (rc != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError("cannot open " + url_ + ": " + why);
    }
    try {
      sqlite3_busy_timeout(db_, kBusyTimeoutMs);
      sqlite3_extended_result_codes(db_, 1);
      // SQLite silently opens a file it may not write read-only; say so now, not at the first write.
      if (sqlite3_db_readonly(db_, "main") == 1)
        throw StoreError("cannot open " + url_ + ": " + path + " is read-only; check the permissions of the file "
                         "and its folder (a study store needs to write the file and its -wal beside it)");
      exec("PRAGMA foreign_keys = ON");
      check_identity(path, check_damage);
      // WAL lets readers run beside one writer; NORMAL sync keeps every committed transaction
      // through a process crash (only an OS crash or power cut can lose the last ones).
      exec("PRAGMA journal_mode = WAL");
      exec("PRAGMA synchronous = NORMAL");
      create_schema();
    } catch (...) {
      close();
      throw;
    }
  }

  ~SqliteStore() override { close(); }

  std::string url() const override { return url_; }

  std::optional<StudyRecord> find_study(const std::string& name) override {
    std::lock_guard lock(mutex_);
    auto q = prepare("SELECT id, name, objectives, spec, created_at FROM studies WHERE name = ?");
    q.bind(1, name);
    if (!q.step()) return std::nullopt;
    return study_from_row(q);
  }

  StudyRecord create_study(const std::string& name, const std::vector<Objective>& objectives, const json& spec,
                           bool* created) override {
    std::lock_guard lock(mutex_);
    return write([&] {
      auto q = prepare("SELECT id, name, objectives, spec, created_at FROM studies WHERE name = ?");
      q.bind(1, name);
      if (q.step()) {
        if (created) *created = false;
        return study_from_row(q);
      }
      auto insert = prepare("INSERT INTO studies (name, objectives, spec, created_at) VALUES (?, ?, ?, ?)");
      const double now = unix_now();
      insert.bind(1, name).bind(2, objectives_to_json(objectives).dump()).bind(3, spec.dump()).bind(4, now);
      insert.run();
      if (created) *created = true;
      return StudyRecord{sqlite3_last_insert_rowid(db_), name, objectives, spec, now};
    });
  }

  std::vector<StudyRecord> list_studies() override {
    std::lock_guard lock(mutex_);
    auto q = prepare("SELECT id, name, objectives, spec, created_at FROM studies ORDER BY id");
    std::vector<StudyRecord> out;
    while (q.step()) out.push_back(study_from_row(q));
    return out;
  }

  std::optional<TrialRecord> start_trial(std::int64_t study_id, std::int64_t* cursor, const std::string& worker,
                                         const Proposer& propose) override {
    std::lock_guard lock(mutex_);
    return write([&]() -> std::optional<TrialRecord> {
      if (auto retry = claim_waiting(study_id, worker)) return retry;
      std::vector<TrialRecord> changed = load_trials(study_id, cursor);
      auto next = prepare("SELECT next_number FROM studies WHERE id = ?");
      next.bind(1, study_id);
      if (!next.step()) throw StoreError("study " + std::to_string(study_id) + " does not exist");
      const int number = static_cast<int>(next.integer(0));
      std::optional<Proposal> proposal = propose(number, std::move(changed));
      if (!proposal) return std::nullopt;
      auto bump = prepare(
          "UPDATE studies SET next_number = next_number + 1, version = version + 1 WHERE id = ? RETURNING version");
      bump.bind(1, study_id);
      bump.step();
      const std::int64_t version = bump.integer(0);
      bump.run();
      TrialRecord t;
      t.study_id = study_id;
      t.number = number;
      t.state = proposal->error.empty() ? TrialState::kRunning : TrialState::kFail;
      t.seed = proposal->seed;
      t.params = proposal->params;
      t.worker = worker;
      t.error = proposal->error;
      t.started_at = t.heartbeat_at = unix_now();
      if (t.state == TrialState::kFail) t.finished_at = t.started_at;
      auto insert = prepare(
          "INSERT INTO trials (study_id, number, state, seed, worker, started_at, heartbeat_at, finished_at, error, "
          "version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert.bind(1, study_id).bind(2, number).bind(3, std::string(to_string(t.state))).bind(4, seed_to_db(t.seed));
      insert.bind(5, worker).bind(6, t.started_at).bind(7, t.heartbeat_at).bind(8, t.finished_at > 0 ? t.finished_at : kNaN);
      insert.bind(9, t.error).bind(10, version);
      insert.run();
      t.id = sqlite3_last_insert_rowid(db_);
      for (const auto& item : t.params.items()) {
        auto param = prepare("INSERT INTO trial_params (trial_id, name, value) VALUES (?, ?, ?)");
        param.bind(1, t.id).bind(2, item.key()).bind(3, item.value().dump());
        param.run();
      }
      return t;
    });
  }

  void report(std::int64_t trial_id, int step, double value) override {
    std::lock_guard lock(mutex_);
    write([&] {
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto put = prepare("INSERT OR REPLACE INTO trial_intermediate (trial_id, step, value) VALUES (?, ?, ?)");
      put.bind(1, trial_id).bind(2, step).bind(3, value);
      put.run();
      auto touch = prepare("UPDATE trials SET version = ?, heartbeat_at = ? WHERE id = ?");
      touch.bind(1, version).bind(2, unix_now()).bind(3, trial_id);
      touch.run();
    });
  }

  void heartbeat(const std::vector<std::int64_t>& trial_ids) override {
    if (trial_ids.empty()) return;
    std::lock_guard lock(mutex_);
    write([&] {
      const double now = unix_now();
      for (const auto id : trial_ids) {
        auto touch = prepare("UPDATE trials SET heartbeat_at = ? WHERE id = ? AND state = 'RUNNING'");
        touch.bind(1, now).bind(2, id);
        touch.run();
      }
    });
  }

  bool finish_trial(std::int64_t trial_id, const TrialResult& result) override {
    std::lock_guard lock(mutex_);
    return write([&] {
      auto state = prepare("SELECT state FROM trials WHERE id = ?");
      state.bind(1, trial_id);
      if (!state.step() || state.text(0) != "RUNNING") return false;
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto update = prepare("UPDATE trials SET state = ?, finished_at = ?, error = ?, version = ? WHERE id = ?");
      update.bind(1, std::string(to_string(result.state))).bind(2, unix_now()).bind(3, result.error);
      update.bind(4, version).bind(5, trial_id);
      update.run();
      insert_values(trial_id, result);
      return true;
    });
  }

  Abandoned abandon_trial(std::int64_t trial_id, const std::string& reason,
                          const std::optional<json>& retry_attrs) override {
    std::lock_guard lock(mutex_);
    return write([&] {
      Abandoned out;
      auto state = prepare("SELECT state, study_id FROM trials WHERE id = ?");
      state.bind(1, trial_id);
      if (!state.step() || state.text(0) != "RUNNING") return out;
      const std::int64_t study_id = state.integer(1);
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto update = prepare("UPDATE trials SET state = 'FAIL', finished_at = ?, error = ?, version = ? WHERE id = ?");
      update.bind(1, unix_now()).bind(2, reason).bind(3, version).bind(4, trial_id);
      update.run();
      out.failed = true;
      if (!retry_attrs) return out;
      auto bump = prepare(
          "UPDATE studies SET next_number = next_number + 1, version = version + 1 WHERE id = ? "
          "RETURNING next_number - 1, version");
      bump.bind(1, study_id);
      bump.step();
      const std::int64_t number = bump.integer(0), copy_version = bump.integer(1);
      bump.run();
      auto copy = prepare(
          "INSERT INTO trials (study_id, number, state, seed, version) "
          "SELECT study_id, ?, 'WAITING', seed, ? FROM trials WHERE id = ?");
      copy.bind(1, number).bind(2, copy_version).bind(3, trial_id);
      copy.run();
      const std::int64_t copy_id = sqlite3_last_insert_rowid(db_);
      auto params = prepare("INSERT INTO trial_params (trial_id, name, value) SELECT ?, name, value FROM trial_params "
                            "WHERE trial_id = ?");
      params.bind(1, copy_id).bind(2, trial_id);
      params.run();
      insert_attrs(copy_id, *retry_attrs);
      insert_attrs(trial_id, json{{"retried_as", number}});
      out.retry = load_trials_where(study_id, "id = ?", copy_id).at(0);
      return out;
    });
  }

  std::vector<TrialRecord> running_trials(std::int64_t study_id) override {
    std::lock_guard lock(mutex_);
    return read([&] { return load_trials_where(study_id, "state = 'RUNNING'"); });
  }

  double clock() override { return unix_now(); }

  std::vector<std::string> check_integrity() override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> problems;
    {
      auto q = prepare("PRAGMA integrity_check");
      while (q.step())
        if (q.text(0) != "ok") problems.push_back(q.text(0));
    }
    auto q = prepare("PRAGMA foreign_key_check");
    while (q.step()) problems.push_back("table " + q.text(0) + " row " + q.text(1) + " refers to a missing " + q.text(2));
    return problems;
  }

  std::vector<TrialRecord> trials(std::int64_t study_id) override {
    std::int64_t cursor = 0;
    return changed_trials(study_id, &cursor);
  }

  std::vector<TrialRecord> changed_trials(std::int64_t study_id, std::int64_t* cursor) override {
    std::lock_guard lock(mutex_);
    return read([&] { return load_trials(study_id, cursor); });
  }

  void set_study_attr(std::int64_t study_id, const std::string& key, const json& value) override {
    std::lock_guard lock(mutex_);
    write([&] {
      auto put = prepare("INSERT OR REPLACE INTO study_attrs (study_id, key, value) VALUES (?, ?, ?)");
      put.bind(1, study_id).bind(2, key).bind(3, value.dump());
      put.run();
    });
  }

  json study_attr(std::int64_t study_id, const std::string& key) override {
    std::lock_guard lock(mutex_);
    auto q = prepare("SELECT value FROM study_attrs WHERE study_id = ? AND key = ?");
    q.bind(1, study_id).bind(2, key);
    return q.step() ? json::parse(q.text(0)) : json();
  }

 private:
  void close() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
    if (db_) sqlite3_close(db_);
    db_ = nullptr;
  }

  Statement prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
        throw StoreError(describe("prepare"));
      it = cache_.emplace(sql, stmt).first;
    }
    return Statement(db_, it->second, url_);
  }

  std::string describe(const std::string& what) const { return describe_error(db_, url_, what); }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      sqlite3_free(error);
      throw StoreError(describe(sql));
    }
  }
  void exec_noexcept(const char* sql) noexcept { sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }

  // Runs `body` in a BEGIN IMMEDIATE transaction: the write lock is taken up front, so the
  // transaction never has to upgrade a read lock (which fails at once with SQLITE_BUSY in WAL mode).
  template <typename Body>
  auto write(Body&& body) -> decltype(body()) {
    return transaction("BEGIN IMMEDIATE", std::forward<Body>(body));
  }

  // Runs `body` in one read transaction: a consistent snapshot across the tables.
  template <typename Body>
  auto read(Body&& body) -> decltype(body()) {
    return transaction("BEGIN", std::forward<Body>(body));
  }

  template <typename Body>
  auto transaction(const char* begin, Body&& body) -> decltype(body()) {
    exec(begin);
    try {
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        exec("COMMIT");
      } else {
        auto result = body();
        exec("COMMIT");
        return result;
      }
    } catch (...) {
      exec_noexcept("ROLLBACK");
      throw;
    }
  }

  // Claims the lowest-numbered WAITING trial of the study for `worker`; runs inside start_trial's transaction.
  std::optional<TrialRecord> claim_waiting(std::int64_t study_id, const std::string& worker) {
    // `+number`: sort the few waiting rows rather than walk the study's whole (study, number) index.
    auto waiting = prepare("SELECT id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY +number LIMIT 1");
    waiting.bind(1, study_id);
    if (!waiting.step()) return std::nullopt;
    const std::int64_t id = waiting.integer(0);
    waiting.run();
    const std::int64_t version = bump_version_of_trial(id);
    const double now = unix_now();
    auto claim = prepare(
        "UPDATE trials SET state = 'RUNNING', worker = ?, started_at = ?, heartbeat_at = ?, version = ? WHERE id = ?");
    claim.bind(1, worker).bind(2, now).bind(3, now).bind(4, version).bind(5, id);
    claim.run();
    return load_trials_where(study_id, "id = ?", id).at(0);
  }

  void check_identity(const std::string& path, bool check_damage) {
    int application_id = 0, user_version = 0, tables = 0;
    {
      auto q = prepare("PRAGMA application_id");
      if (q.step()) application_id = static_cast<int>(q.integer(0));
    }
    {
      auto q = prepare("PRAGMA user_version");
      if (q.step()) user_version = static_cast<int>(q.integer(0));
    }
    {
      auto q = prepare("SELECT count(*) FROM sqlite_master");
      if (q.step()) tables = static_cast<int>(q.integer(0));
    }
    if (application_id == 0 && tables == 0) return;  // new, empty file
    if (application_id != kApplicationId)
      throw StoreError(url_ + ": " + path + " is an SQLite database of another application, not a Lepton store");
    if (user_version > kSqliteSchemaVersion)
      throw StoreError(url_ + ": written by a newer Lepton (store schema " + std::to_string(user_version) +
                       ", this build reads up to " + std::to_string(kSqliteSchemaVersion) + "); upgrade lepton");
    // A damaged file must not be written to (a write could spread the damage): check before anything.
    if (!check_damage) return;
    auto check = prepare("PRAGMA quick_check(1)");
    if (check.step() && check.text(0) != "ok")
      throw StoreError(url_ + ": the database is damaged (" + check.text(0) +
                       "); nothing was changed. Keep a copy, then `sqlite3 FILE .recover | sqlite3 NEW.db` may save "
                       "its content; `lepton doctor` shows the details");
  }

  void create_schema() {
    write([&] {
      int version = 0;
      {
        auto q = prepare("PRAGMA user_version");
        if (q.step()) version = static_cast<int>(q.integer(0));
      }
      if (version == 0) {  // first opener wins; the others see its version inside their transaction
        char* error = nullptr;
        if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &error) != SQLITE_OK) {
          const std::string message = error ? error : "unknown error";
          sqlite3_free(error);
          throw StoreError(url_ + ": cannot create the schema: " + message);
        }
        exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
        exec(("PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion)).c_str());
      }
    });
  }

  StudyRecord study_from_row(const Statement& q) const {
    return StudyRecord{q.integer(0), q.text(1), objectives_from_json(json::parse(q.text(2))), json::parse(q.text(3)),
                       q.real(4)};
  }

  std::int64_t bump_version_of_trial(std::int64_t trial_id) {
    auto bump = prepare(
        "UPDATE studies SET version = version + 1 WHERE id = (SELECT study_id FROM trials WHERE id = ?) "
        "RETURNING version");
    bump.bind(1, trial_id);
    if (!bump.step()) throw StoreError("trial " + std::to_string(trial_id) + " does not exist");
    const std::int64_t version = bump.integer(0);
    bump.run();
    return version;
  }

  void insert_values(std::int64_t trial_id, const TrialResult& result) {
    const std::string value_sql = "INSERT OR REPLACE INTO trial_values (trial_id, objective, value) VALUES (?, ?, ?)";
    for (std::size_t i = 0; i < result.values.size(); ++i) {
      auto put = prepare(value_sql);
      put.bind(1, trial_id).bind(2, static_cast<int>(i)).bind(3, result.values[i]);
      put.run();
    }
    const std::string metric_sql = "INSERT OR REPLACE INTO trial_metrics (trial_id, name, value) VALUES (?, ?, ?)";
    for (const auto& [name, value] : result.metrics) {
      auto put = prepare(metric_sql);
      put.bind(1, trial_id).bind(2, name).bind(3, value);
      put.run();
    }
    insert_attrs(trial_id, result.attrs);
    const std::string artifact_sql = "INSERT OR REPLACE INTO artifacts (trial_id, name, path) VALUES (?, ?, ?)";
    for (const auto& [name, path] : result.artifacts) {
      auto put = prepare(artifact_sql);
      put.bind(1, trial_id).bind(2, name).bind(3, path);
      put.run();
    }
  }

  void insert_attrs(std::int64_t trial_id, const json& attrs) {
    const std::string attr_sql = "INSERT OR REPLACE INTO trial_attrs (trial_id, key, value) VALUES (?, ?, ?)";
    for (const auto& item : attrs.items()) {
      auto put = prepare(attr_sql);
      put.bind(1, trial_id).bind(2, item.key()).bind(3, item.value().dump());
      put.run();
    }
  }

  // Loads the trials of a study with version > *cursor, in number order, and advances the cursor.
  // Runs inside the caller's transaction.
  std::vector<TrialRecord> load_trials(std::int64_t study_id, std::int64_t* cursor) {
    auto out = load_trials_where(study_id, "version > ?", *cursor);
    for (const auto& t : out) *cursor = std::max(*cursor, t.version);
    return out;
  }

  // Loads the trials of a study matching `condition` (SQL over the trials table, with one `?` bound
  // to `arg` when given), in number order, with their params, values, metrics and attrs. The order
  // is `+number` so that SQLite picks the condition's index, not the (study, number) one.
  std::vector<TrialRecord> load_trials_where(std::int64_t study_id, const std::string& condition,
                                             std::optional<std::int64_t> arg = std::nullopt) {
    std::vector<TrialRecord> out;
    std::unordered_map<std::int64_t, std::size_t> index;
    {
      auto q = prepare(
          "SELECT id, number, state, seed, worker, started_at, finished_at, heartbeat_at, error, version "
          "FROM trials WHERE study_id = ? AND " + condition + " ORDER BY +number");
      q.bind(1, study_id);
      if (arg) q.bind(2, *arg);
      while (q.step()) {
        TrialRecord t;
        t.id = q.integer(0);
        t.study_id = study_id;
        t.number = static_cast<int>(q.integer(1));
        t.state = trial_state_from_string(q.text(2));
        t.seed = seed_from_db(q.integer(3));
        t.worker = q.text(4);
        t.started_at = q.real(5);
        t.finished_at = q.real(6);
        t.heartbeat_at = q.real(7);
        t.error = q.text(8);
        t.version = q.integer(9);
        index[t.id] = out.size();
        out.push_back(std::move(t));
      }
    }
    if (out.empty()) return out;
    // One query per table over the same set of trials.
    auto for_each_row = [&](const std::string& table_sql, auto&& apply) {
      auto q = prepare(table_sql + " WHERE trial_id IN (SELECT id FROM trials WHERE study_id = ? AND " + condition + ")");
      q.bind(1, study_id);
      if (arg) q.bind(2, *arg);
      while (q.step()) {
        const auto it = index.find(q.integer(0));
        if (it != index.end()) apply(out[it->second], q);
      }
    };
    for_each_row("SELECT trial_id, name, value FROM trial_params",
                 [](TrialRecord& t, const Statement& q) { t.params[q.text(1)] = json::parse(q.text(2)); });
    for_each_row("SELECT trial_id, objective, value FROM trial_values", [](TrialRecord& t, const Statement& q) {
      const auto i = static_cast<std::size_t>(q.integer(1));
      if (t.values.size() <= i) t.values.resize(i + 1, kNaN);
      t.values[i] = q.real(2);
    });
    for_each_row("SELECT trial_id, step, value FROM trial_intermediate", [](TrialRecord& t, const Statement& q) {
      t.intermediate[static_cast<int>(q.integer(1))] = q.real(2);
    });
    for_each_row("SELECT trial_id, name, value FROM trial_metrics",
                 [](TrialRecord& t, const Statement& q) { t.metrics[q.text(1)] = q.real(2); });
    for_each_row("SELECT trial_id, key, value FROM trial_attrs",
                 [](TrialRecord& t, const Statement& q) { t.attrs[q.text(1)] = json::parse(q.text(2)); });
    for_each_row("SELECT trial_id, name, path FROM artifacts",
                 [](TrialRecord& t, const Statement& q) { t.artifacts[q.text(1)] = q.text(2); });
    return out;
  }

  sqlite3* db_ = nullptr;
  std::string url_;
  std::mutex mutex_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const std::string& url, bool check_damage) {
  return std::make_unique<SqliteStore>(path, url, check_damage);
}

}  // namespace lepton::engine
