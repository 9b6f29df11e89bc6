// Storage URL parsing, following SQLAlchemy's conventions that Optuna users already know.
#include "store/storage_url.hpp"

#include <lepton/config.hpp>

namespace lepton::engine {

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
