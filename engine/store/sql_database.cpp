// SqlValue's conversions: SQLite returns typed cells, PostgreSQL (in libpq's text mode) text.
#include "store/sql_database.hpp"

#include <cstdio>
#include <cstdlib>
#include <limits>

namespace lepton::engine {

std::int64_t SqlValue::integer() const {
  if (const auto* i = if_integer()) return *i;
  if (const auto* r = if_real()) return static_cast<std::int64_t>(*r);
  if (const auto* t = if_text()) return std::stoll(*t);
  return 0;
}

double SqlValue::real() const {
  if (const auto* r = if_real()) return *r;
  if (const auto* i = if_integer()) return static_cast<double>(*i);
  if (const auto* t = if_text()) return std::strtod(t->c_str(), nullptr);
  return std::numeric_limits<double>::quiet_NaN();
}

std::string SqlValue::text() const {
  if (const auto* t = if_text()) return *t;
  if (const auto* i = if_integer()) return std::to_string(*i);
  const auto* r = if_real();
  if (!r) return "";
  char buffer[32];  // every digit a double has; "inf" and "nan" read back in SQL and in strtod
  std::snprintf(buffer, sizeof buffer, "%.17g", *r);
  return buffer;
}

}  // namespace lepton::engine
