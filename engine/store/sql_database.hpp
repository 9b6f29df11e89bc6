// What the study store needs from an SQL database, and nothing more: each back end (SQLite,
// PostgreSQL) implements it as a dialect, and the store's SQL (sql_store.cpp) is written once over it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace lepton::engine {

/// A statement parameter or a result cell: NULL, an integer, a real or text. A NaN real binds as NULL.
class SqlValue {
 public:
  SqlValue() = default;
  SqlValue(std::int64_t v) : v_(v) {}
  SqlValue(int v) : v_(std::int64_t{v}) {}
  SqlValue(double v) : v_(v) {}
  SqlValue(std::string v) : v_(std::move(v)) {}
  SqlValue(const char* v) : v_(std::string(v)) {}

  bool null() const { return std::holds_alternative<std::monostate>(v_); }
  const std::int64_t* if_integer() const { return std::get_if<std::int64_t>(&v_); }
  const double* if_real() const { return std::get_if<double>(&v_); }
  const std::string* if_text() const { return std::get_if<std::string>(&v_); }
  /// The cell as a number or text, converting from text where the database returns only text.
  std::int64_t integer() const;
  double real() const;  ///< NaN for NULL
  std::string text() const;

 private:
  std::variant<std::monostate, std::int64_t, double, std::string> v_;
};

/// The rows a statement returned.
struct SqlRows {
  std::vector<std::vector<SqlValue>> rows;
  std::size_t size() const { return rows.size(); }
  const SqlValue& at(std::size_t row, std::size_t col) const { return rows.at(row).at(col); }
};

enum class Transaction {
  kNone,   ///< each statement commits by itself
  kRead,   ///< one consistent snapshot across tables
  kWrite,  ///< the write lock (SQLite) or the study row (PostgreSQL) is taken before anything is read
};

/// One connection to a study store's database. Not thread-safe: the store serializes calls.
class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  /// The URL it was opened from, with any password hidden.
  virtual std::string url() const = 0;
  /// Runs one statement, its `?` placeholders bound to `params` in order, and returns its rows.
  /// Throws StoreError with a message a user can act on.
  virtual SqlRows query(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
  /// Runs `body` in a transaction of `kind` and commits it, or rolls back and rethrows. `body` may
  /// run again when the connection was lost or a serialization conflict aborted it.
  virtual void transact(Transaction kind, const std::function<void()>& body) = 0;
  /// An SQL expression for the store's clock in Unix seconds.
  virtual const char* now_sql() const = 0;
  /// What a SELECT of the study row appends to lock it ("FOR UPDATE"; empty where a write
  /// transaction already locks the whole database).
  virtual const char* lock_row_sql() const = 0;
  /// Problems with the database itself; empty when healthy.
  virtual std::vector<std::string> check_integrity() = 0;
};

}  // namespace lepton::engine
