// The embedded SQLite study store: WAL, BEGIN IMMEDIATE writes, a busy timeout, a versioned schema.
#pragma once

#include "store/store.hpp"

#include <memory>
#include <string>

namespace lepton::engine {

/// The schema version this build writes; a store with a newer one is refused, not damaged.
inline constexpr int kSqliteSchemaVersion = 2;

/// Opens (creating if needed) the SQLite store at `path` (":memory:" for a private in-memory one).
/// `url` is what url() reports. Throws StoreError with a clear reason when the file cannot be used:
/// not a database, another application's, a newer schema, read-only, or (with `check_damage`)
/// damaged, in which case nothing is written to it.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const std::string& url, bool check_damage = true);

}  // namespace lepton::engine
