// The study store over any SqlDatabase: the trial state machine and its queries, written once.
#pragma once

#include "store/sql_database.hpp"
#include "store/store.hpp"

#include <memory>

namespace lepton::engine {

/// The spellings in which the two dialects' schemas differ.
struct SchemaDialect {
  const char* prefix;         ///< "lepton." for a schema of its own, or ""
  const char* id;             ///< an auto-numbered 64-bit primary key
  const char* bigint;         ///< a 64-bit integer column
  const char* real;           ///< a double column
  const char* keyed_table;    ///< appended to tables keyed by their primary key alone
};

/// Throws StoreError when the database's schema `found` is newer than this build `readable`s.
void check_schema_version(const std::string& url, std::int64_t found, std::int64_t readable);

/// The store's tables and indexes, as one script in the given dialect.
std::string store_schema(const SchemaDialect& dialect);

/// A Store whose every operation is SQL on `database`.
std::unique_ptr<Store> make_sql_store(std::unique_ptr<SqlDatabase> database);

}  // namespace lepton::engine
