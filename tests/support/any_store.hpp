// A fresh, empty study store of either back end, for the store tests that must hold for both:
// "sqlite" (a file in a temporary folder) or "postgresql" (a throwaway server of its own).
#pragma once

#include "store/store.hpp"
#include "support/postgres_server.hpp"
#include "support/temp_dir.hpp"

#include <memory>
#include <string>

namespace lepton::test {

/// The back ends every store test runs on, for Catch2's GENERATE.
inline constexpr const char* kBackends[] = {"sqlite", "postgresql"};

class AnyStore {
 public:
  explicit AnyStore(const std::string& backend);
  engine::Store& operator*() const { return *store_; }
  engine::Store* operator->() const { return store_.get(); }
  /// Runs SQL on the store's tables directly (to age a heartbeat, say), as a user could.
  void sql(const std::string& statement) const;

 private:
  TempDir dir_;
  std::unique_ptr<PostgresServer> server_;
  std::unique_ptr<engine::Store> store_;
};

}  // namespace lepton::test
