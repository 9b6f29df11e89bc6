// Storage URL parsing, following SQLAlchemy's conventions that Optuna users already know.
#include "store/storage_url.hpp"

#include <lepton/config.hpp>

namespace lepton::engine {

std::string redact_password(const std::string& url) {
  // scheme://user:password@host...: the password sits between the first ':' after "//" and the last '@'
  // of the authority.
  const auto start = url.find("://");
  if (start == std::string::npos) return url;
  const auto authority_end = url.find_first_of("/?", start + 3);
  const auto at = url.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at == std::string::npos || at < start) return url;
  const auto colon = url.find(':', start + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

StorageUrl parse_storage_url(const std::string& url, const std::string& path) {
  const std::string sqlite_prefix = "sqlite:///";
  StorageUrl out;
  out.text = url;
  if (url.rfind(sqlite_prefix, 0) == 0 && url.size() > sqlite_prefix.size()) {
    out.backend = StorageUrl::Backend::kSqlite;
    out.location = url.substr(sqlite_prefix.size());  // "sqlite:////abs.db" keeps its leading '/'
    return out;
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    out.backend = StorageUrl::Backend::kPostgres;
    out.location = url;
    return out;
  }
  throw ConfigError(path, "unsupported storage URL \"" + url +
                              "\"; use sqlite:///relative/path.db, sqlite:////absolute/path.db or "
                              "postgresql://user@host:port/database");
}

}  // namespace lepton::engine
