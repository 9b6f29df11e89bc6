// The PostgreSQL study store: many workers on many machines share one study, as with Optuna's RDB storage.
#pragma once

#include "store/store.hpp"

#include <memory>
#include <string>

namespace lepton::engine {

/// The schema version this build writes, in the `lepton.meta` table; a newer one is refused.
inline constexpr int kPostgresSchemaVersion = 1;

/// Connects to the database at `url` (a libpq URI: postgresql://user:password@host:port/database,
/// or postgresql:///database?host=/socket/folder) and creates the `lepton` schema when missing: once,
/// under an advisory lock, however many workers start together. Throws StoreError when it cannot.
std::unique_ptr<Store> open_postgres_store(const std::string& url);

}  // namespace lepton::engine
