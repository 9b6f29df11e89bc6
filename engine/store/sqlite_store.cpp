// The SQLite dialect of the study store. Every write is one BEGIN IMMEDIATE transaction, so
// concurrent processes queue on the busy timeout instead of failing with "database is locked".
#include "store/sqlite_store.hpp"

#include "store/sql_store.hpp"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <unordered_map>
#include <utility>

namespace lepton::engine {

namespace {

constexpr int kApplicationId = 0x4C455054;  // "LEPT": marks the file as a Lepton store
constexpr int kBusyTimeoutMs = 60'000;

// Why a write failed, when it is something a user can fix: SQLite keeps the errno of some I/O
// errors, and for others only says "disk I/O error", so a full file system or a file-size limit
// is looked up.
std::string write_failure_cause(sqlite3* db) {
  const int extended = sqlite3_extended_errcode(db), system_errno = sqlite3_system_errno(db);
  if ((extended & 0xff) == SQLITE_FULL) return "the disk is full";
  if ((extended & 0xff) != SQLITE_IOERR) return "";
  if (system_errno == ENOSPC || system_errno == EDQUOT || system_errno == EFBIG) return std::strerror(system_errno);
  if (extended != SQLITE_IOERR_WRITE && extended != SQLITE_IOERR_FSYNC && extended != SQLITE_IOERR_TRUNCATE) return "";
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
  if (const std::string cause = write_failure_cause(db); !cause.empty())
    return url + ": cannot write: " + cause +
           "; the last transaction was rolled back and the file is intact; make room, then resume the study";
  switch (sqlite3_extended_errcode(db) & 0xff) {
    case SQLITE_NOTADB: return url + ": the file is not an SQLite database (or is corrupt); nothing was changed";
    case SQLITE_CORRUPT: return url + ": the database is corrupt; `sqlite3 FILE .recover` may save its content";
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
      if (const int e = sqlite3_system_errno(db)) message += std::string(" (") + std::strerror(e) + ")";
      return message;
    }
  }
}

// The store's clock, as `lepton_now()` in SQL: this host's Unix time, to the microsecond.
void sql_now(sqlite3_context* context, int, sqlite3_value**) { sqlite3_result_double(context, unix_now()); }

class SqliteDatabase final : public SqlDatabase {
 public:
  SqliteDatabase(const std::string& path, std::string url, bool check_damage) : url_(std::move(url)) {
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
      throw StoreError("cannot open " + url_ + ": " + why);
    }
    try {
      sqlite3_busy_timeout(db_, kBusyTimeoutMs);
      sqlite3_extended_result_codes(db_, 1);
      sqlite3_create_function(db_, "lepton_now", 0, SQLITE_UTF8, nullptr, sql_now, nullptr, nullptr);
      // SQLite silently opens a file it may not write read-only; say so now, not at the first write.
      if (sqlite3_db_readonly(db_, "main") == 1)
        throw StoreError("cannot open " + url_ + ": " + path + " is read-only; check the permissions of the file "
                         "and its folder (a study store needs to write the file and its -wal beside it)");
      query("PRAGMA foreign_keys = ON");
      check_identity(path, check_damage);
      // WAL lets readers run beside one writer; NORMAL sync keeps every committed transaction
      // through a process crash (only an OS crash or power cut can lose the last ones).
      query("PRAGMA journal_mode = WAL");
      query("PRAGMA synchronous = NORMAL");
      transact(Transaction::kWrite, [&] { create_or_upgrade_schema(); });
    } catch (...) {
      close();
      throw;
    }
  }

  ~SqliteDatabase() override { close(); }

  std::string url() const override { return url_; }
  const char* now_sql() const override { return "lepton_now()"; }
  const char* lock_row_sql() const override { return ""; }  // BEGIN IMMEDIATE holds the write lock

  SqlRows query(const std::string& sql, const std::vector<SqlValue>& params = {}) override {
    sqlite3_stmt* stmt = prepare(sql);
    struct Reset {  // leaves the cached statement ready for its next use, however this returns
      sqlite3_stmt* stmt;
      ~Reset() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    } reset{stmt};
    for (int i = 0; i < static_cast<int>(params.size()); ++i) {
      const SqlValue& p = params[static_cast<std::size_t>(i)];
      int rc = SQLITE_OK;
      if (const auto* v = p.if_integer()) rc = sqlite3_bind_int64(stmt, i + 1, *v);
      else if (const auto* r = p.if_real(); r && !std::isnan(*r)) rc = sqlite3_bind_double(stmt, i + 1, *r);
      else if (const auto* t = p.if_text())
        rc = sqlite3_bind_text(stmt, i + 1, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      if (rc != SQLITE_OK) throw StoreError(describe_error(db_, url_, "bind"));
    }
    SqlRows out;
    for (int rc; (rc = sqlite3_step(stmt)) != SQLITE_DONE;) {
      if (rc != SQLITE_ROW) throw StoreError(describe_error(db_, url_, sql));
      auto& row = out.rows.emplace_back();
      for (int c = 0, n = sqlite3_column_count(stmt); c < n; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER: row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(stmt, c)); break;
          case SQLITE_NULL: row.emplace_back(); break;
          default:
            row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)),
                                         static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
    }
    return out;
  }

  // BEGIN IMMEDIATE takes the write lock up front, so a write never has to upgrade a read lock
  // (which fails at once with SQLITE_BUSY in WAL mode).
  void transact(Transaction kind, const std::function<void()>& body) override {
    if (kind == Transaction::kNone) return body();
    query(kind == Transaction::kWrite ? "BEGIN IMMEDIATE" : "BEGIN");
    try {
      body();
      query("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::vector<std::string> check_integrity() override {
    std::vector<std::string> problems;
    for (const auto& row : query("PRAGMA integrity_check").rows)
      if (row[0].text() != "ok") problems.push_back(row[0].text());
    for (const auto& row : query("PRAGMA foreign_key_check").rows)
      problems.push_back("table " + row[0].text() + " row " + row[1].text() + " refers to a missing " + row[2].text());
    return problems;
  }

 private:
  void close() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
  }

  // Statements are prepared once and kept: the store runs the same few hundred again and again.
  sqlite3_stmt* prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
      throw StoreError(describe_error(db_, url_, "prepare"));
    return cache_.emplace(sql, stmt).first->second;
  }

  std::int64_t pragma(const char* name) { return query(std::string("PRAGMA ") + name).at(0, 0).integer(); }

  void check_identity(const std::string& path, bool check_damage) {
    const std::int64_t application_id = pragma("application_id"), schema = pragma("user_version");
    if (application_id == 0 && query("SELECT count(*) FROM sqlite_master").at(0, 0).integer() == 0) return;  // new
    if (application_id != kApplicationId)
      throw StoreError(url_ + ": " + path + " is an SQLite database of another application, not a Lepton store");
    check_schema_version(url_, schema, kSqliteSchemaVersion);
    // A damaged file must not be written to (a write could spread the damage): check before anything.
    if (!check_damage) return;
    const std::string verdict = query("PRAGMA quick_check(1)").at(0, 0).text();
    if (verdict != "ok")
      throw StoreError(url_ + ": the database is damaged (" + verdict +
                       "); nothing was changed. Keep a copy, then `sqlite3 FILE .recover | sqlite3 NEW.db` may save "
                       "its content; `lepton doctor` shows the details");
  }

  // The first opener creates the schema; the others see its version inside their transaction.
  // Schema 1 (Lepton 0.1) lacked the trials' start token.
  void create_or_upgrade_schema() {
    const std::int64_t version = pragma("user_version");
    if (version == kSqliteSchemaVersion) return;
    const std::string script =
        version == 0 ? store_schema({"", "INTEGER PRIMARY KEY", "INTEGER", "REAL", " WITHOUT ROWID"})
                     : "ALTER TABLE trials ADD COLUMN token TEXT";
    char* error = nullptr;
    if (sqlite3_exec(db_, script.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw StoreError(url_ + ": cannot create the schema: " + message);
    }
    query("PRAGMA application_id = " + std::to_string(kApplicationId));
    query("PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion));
  }

  sqlite3* db_ = nullptr;
  std::string url_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const std::string& url, bool check_damage) {
  return make_sql_store(std::make_unique<SqliteDatabase>(path, url, check_damage));
}

}  // namespace lepton::engine
