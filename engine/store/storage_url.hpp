// Storage URLs: sqlite:///relative.db, sqlite:////absolute.db, postgresql://user@host/db.
#pragma once

#include <string>

namespace lepton::engine {

/// A parsed storage URL.
struct StorageUrl {
  enum class Backend { kSqlite, kPostgres } backend = Backend::kSqlite;
  std::string location;  ///< sqlite: the file path (or ":memory:"); postgresql: the whole URL for libpq
  std::string text;      ///< the URL as given
};

/// `url` with the password of a postgresql:// URL replaced by "***", for messages and listings.
std::string redact_password(const std::string& url);

/// Parses `url`; throws ConfigError at `path` for anything else, with the accepted forms.
StorageUrl parse_storage_url(const std::string& url, const std::string& path = "storage");

}  // namespace lepton::engine
