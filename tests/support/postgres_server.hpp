// A real, throwaway PostgreSQL server for one test, on a unix socket in a temporary folder.
#pragma once

#include <string>

namespace lepton::test {

/// Starts a PostgreSQL server from Debian's `postgresql` package (initdb + pg_ctl) listening only on
/// a unix socket in its own temporary folder, and removes it all afterwards. initdb refuses to run
/// as root, so under root (as in CI) the server runs as the unprivileged user `nobody`. The cluster
/// is copied from a template made once per machine, which keeps each start under a second.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// A Lepton storage URL for the server's `postgres` database, e.g.
  /// postgresql:///postgres?host=/tmp/lepton-pg-XXXX&port=5432&user=lepton
  std::string url() const;
  /// Stops it (fast shutdown: sessions are cut, as in a server restart) and starts it again.
  void restart();
  /// Runs SQL through psql; returns its output. Throws on failure.
  std::string sql(const std::string& statement) const;

 private:
  void pg_ctl(const std::string& action, const std::string& extra = "") const;

  std::string folder_, data_;
};

/// The folder of Debian's PostgreSQL server programs (initdb, pg_ctl), or "" when not installed.
std::string postgres_bin_dir();

}  // namespace lepton::test
