// The PostgreSQL dialect of the study store, over libpq: the study's row is locked FOR UPDATE, times
// are the server's clock, and a lost connection (server restart, failover) is re-established with
// backoff and the transaction run again.
#include "store/postgres_store.hpp"

#include "store/sql_store.hpp"
#include "store/storage_url.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace lepton::engine {

namespace {

constexpr auto kReconnectPatience = std::chrono::seconds(120);
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kLongestBackoff = std::chrono::seconds(5);
constexpr int kMaxConflictRetries = 50;
constexpr const char* kSchemaLockKey = "4993981581729628160";  // any constant: serializes schema creation

// A failed statement; `lost` when the connection itself is gone (the server restarted, say).
class PgFailure : public std::runtime_error {
 public:
  PgFailure(const std::string& message, std::string sqlstate, bool lost)
      : std::runtime_error(message), sqlstate(std::move(sqlstate)), lost(lost) {}
  std::string sqlstate;
  bool lost;
};

// `?` placeholders as PostgreSQL's $1, $2, ... (the store's SQL has no `?` inside literals).
std::string numbered_placeholders(const std::string& sql) {
  std::string out;
  int n = 0;
  for (const char c : sql) out += c == '?' ? "$" + std::to_string(++n) : std::string(1, c);
  return out;
}

// libpq's messages span lines ("FATAL: ...\n\tThis probably means..."): one line for ours.
std::string trimmed(const char* message) {
  std::istringstream words(message ? message : "");
  std::string out;
  for (std::string word; words >> word;) out += (out.empty() ? "" : " ") + word;
  return out;
}

// libpq waits forever for an unreachable host unless told otherwise; reconnects need a bound.
std::string with_connect_timeout(const std::string& url) {
  if (url.find("connect_timeout=") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=10";
}

class PostgresDatabase final : public SqlDatabase {
 public:
  explicit PostgresDatabase(const std::string& url) : shown_url_(redact_password(url)) {
    conn_ = PQconnectdb(with_connect_timeout(url).c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      const std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
      PQfinish(conn_);
      throw StoreError("cannot connect to " + shown_url_ + ": " + why +
                       "; check that the server runs and the URL's user, password, host and database");
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    create_schema();
  }

  ~PostgresDatabase() override { PQfinish(conn_); }

  std::string url() const override { return shown_url_; }
  const char* now_sql() const override { return "extract(epoch from clock_timestamp())::double precision"; }
  const char* lock_row_sql() const override { return "FOR UPDATE"; }
  std::vector<std::string> check_integrity() override { return {}; }  // the server keeps its own pages sound

  SqlRows query(const std::string& sql, const std::vector<SqlValue>& params = {}) override {
    auto [it, added] = numbered_.try_emplace(sql);
    if (added) it->second = numbered_placeholders(sql);
    std::vector<std::optional<std::string>> texts;
    std::vector<const char*> values;
    for (const auto& p : params)  // libpq's text form; NULL for NULL and NaN
      texts.push_back(p.null() || (p.if_real() && std::isnan(*p.if_real())) ? std::nullopt : std::optional(p.text()));
    for (const auto& t : texts) values.push_back(t ? t->c_str() : nullptr);
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(
        PQexecParams(conn_, it->second.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                     nullptr, 0),
        PQclear);
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      const char* code = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
      const std::string sqlstate = code ? code : "";
      const bool lost = PQstatus(conn_) == CONNECTION_BAD || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" ||
                        sqlstate == "57P02" || sqlstate == "57P03";
      throw PgFailure(trimmed(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_)), sqlstate, lost);
    }
    SqlRows out;
    for (int i = 0, rows = PQntuples(r.get()); i < rows; ++i) {
      auto& row = out.rows.emplace_back();
      for (int c = 0, n = PQnfields(r.get()); c < n; ++c)
        row.push_back(PQgetisnull(r.get(), i, c) ? SqlValue() : SqlValue(std::string(PQgetvalue(r.get(), i, c))));
    }
    return out;
  }

  // Reconnects and runs `body` again when the connection was lost, or a serialization conflict or
  // deadlock aborted it; anything else rolls back and becomes a StoreError.
  void transact(Transaction kind, const std::function<void()>& body) override {
    const char* begin = kind == Transaction::kWrite  ? "BEGIN"
                        : kind == Transaction::kRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                                     : nullptr;
    for (int conflicts = 0;;) {
      try {
        ensure_connected();
        if (begin) query(begin);
        body();
        if (begin) query("COMMIT");
        return;
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

 private:
  void rollback() noexcept { PQclear(PQexec(conn_, "ROLLBACK")); }

  void ensure_connected() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    spdlog::warn("lost the connection to {} ({}); reconnecting", shown_url_, trimmed(PQerrorMessage(conn_)));
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
    query("SET search_path TO lepton");
    spdlog::warn("reconnected to {}", shown_url_);
  }

  // Creates the schema once: concurrent first workers queue on an advisory lock, and the ones after
  // the first find the schema version inside their transaction.
  void create_schema() {
    transact(Transaction::kWrite, [&] {
      query(std::string("SELECT pg_advisory_xact_lock(") + kSchemaLockKey + ")");
      auto meta = query("SELECT to_regclass('lepton.meta') IS NOT NULL, to_regclass('lepton.studies') IS NOT NULL");
      const bool has_meta = meta.at(0, 0).text() == "t", has_studies = meta.at(0, 1).text() == "t";
      if (!has_meta && has_studies)
        throw StoreError(shown_url_ + ": schema \"lepton\" holds tables of another application, not a Lepton store");
      if (!has_meta) {
        query("CREATE SCHEMA IF NOT EXISTS lepton");
        query("CREATE TABLE lepton.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        const std::string schema =
            store_schema({"lepton.", "BIGSERIAL PRIMARY KEY", "BIGINT", "DOUBLE PRECISION", ""});
        std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(conn_, schema.c_str()), PQclear);
        if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
          throw StoreError(shown_url_ + ": cannot create the schema: " + trimmed(PQresultErrorMessage(r.get())));
        query("INSERT INTO lepton.meta (key, value) VALUES ('schema_version', ?), ('application', 'lepton')",
              {kPostgresSchemaVersion});
      }
      auto version = query("SELECT value FROM lepton.meta WHERE key = 'schema_version'");
      const std::int64_t found = version.size() == 1 ? version.at(0, 0).integer() : 0;
      check_schema_version(shown_url_, found, kPostgresSchemaVersion);
    });
    transact(Transaction::kNone, [&] { query("SET search_path TO lepton"); });
  }

  std::string shown_url_;
  PGconn* conn_ = nullptr;
  std::unordered_map<std::string, std::string> numbered_;  ///< the store's SQL -> with $n placeholders
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url) {
  return make_sql_store(std::make_unique<PostgresDatabase>(url));
}

}  // namespace lepton::engine
