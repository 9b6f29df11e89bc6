#include "support/any_store.hpp"

#include <sqlite3.h>

#include <stdexcept>

namespace lepton::test {

AnyStore::AnyStore(const std::string& backend) {
  if (backend == "postgresql") server_ = std::make_unique<PostgresServer>();
  else if (backend != "sqlite") throw std::invalid_argument("no store back end " + backend);
  store_ = engine::open_store(server_ ? server_->url() : dir_.sqlite_url());
}

void AnyStore::sql(const std::string& statement) const {
  if (server_) {
    server_->sql("SET search_path TO lepton; " + statement);
    return;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(dir_.file("study.db").c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot open the store");
  char* error = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(statement + ": " + message);
}

}  // namespace lepton::test
