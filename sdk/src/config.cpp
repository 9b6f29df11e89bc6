// Strict JSON configuration reading with path-qualified errors.
#include <lepton/config.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace lepton {

ConfigError::ConfigError(std::string path, const std::string& message)
    : std::runtime_error(path.empty() ? message : path + ": " + message),
      path_(std::move(path)),
      detail_(message) {}

std::string join_path(const std::string& path, const std::string& key) {
  if (path.empty()) return key;
  if (!key.empty() && key.front() == '[') return path + key;
  return path + "." + key;
}

std::string describe_json(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case json::value_t::string: return "string " + value.dump();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "number " + value.dump();
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a " + std::string(value.type_name());
  }
}

namespace {
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}
}  // namespace

std::optional<std::string> closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (best || word.size() < 3) return best;
  // An abbreviation ("val_acc" for "val_accuracy") is a likely slip too.
  for (const auto& candidate : candidates)
    if (candidate.size() > word.size() && candidate.compare(0, word.size(), word) == 0) return candidate;
  return best;
}

ConfigError unknown_name_error(const std::string& path, const std::string& what, const std::string& name,
                               const std::vector<std::string>& known) {
  std::string message = "no " + what + " \"" + name + "\"";
  if (auto near = closest_match(name, known)) message += " (did you mean \"" + *near + "\"?)";
  std::string list;
  for (std::size_t i = 0; i < known.size() && i < 12; ++i) list += (i ? ", " : "") + known[i];
  if (known.size() > 12) list += ", ...";
  return ConfigError(path, message + "; " + what + (what.back() == 's' ? "es: " : "s: ") + (list.empty() ? "none" : list));
}

template <>
bool convert<bool>(const json& value, const std::string& path) {
  if (!value.is_boolean()) throw ConfigError(path, "expected true or false, got " + describe_json(value));
  return value.get<bool>();
}

template <>
std::int64_t convert<std::int64_t>(const json& value, const std::string& path) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      throw ConfigError(path, "integer " + value.dump() + " is too large");
    return static_cast<std::int64_t>(value.get<std::uint64_t>());
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9.0e15) return static_cast<std::int64_t>(d);
  }
  throw ConfigError(path, "expected an integer, got " + describe_json(value));
}

template <>
int convert<int>(const json& value, const std::string& path) {
  const std::int64_t v = convert<std::int64_t>(value, path);
  if (v < INT32_MIN || v > INT32_MAX) throw ConfigError(path, "integer " + value.dump() + " is out of range");
  return static_cast<int>(v);
}

template <>
double convert<double>(const json& value, const std::string& path) {
  if (!value.is_number()) throw ConfigError(path, "expected a number, got " + describe_json(value));
  return value.get<double>();
}

template <>
std::string convert<std::string>(const json& value, const std::string& path) {
  if (!value.is_string()) throw ConfigError(path, "expected a string, got " + describe_json(value));
  return value.get<std::string>();
}

template <>
json convert<json>(const json& value, const std::string&) {
  return value;
}

ConfigObject::ConfigObject(const json& value, std::string path) : value_(value), path_(std::move(path)) {
  if (!value_.is_object())
    throw ConfigError(path_, "expected an object, got " + describe_json(value_));
}

const json& ConfigObject::at(const std::string& key) const {
  known_.insert(key);
  const auto it = value_.find(key);
  if (it == value_.end()) throw ConfigError(path_of(key), "required key is missing");
  return *it;
}

const json& ConfigObject::raw(const std::string& key) const { return at(key); }

bool ConfigObject::has(const std::string& key) const {
  known_.insert(key);
  return value_.contains(key);
}

ConfigObject ConfigObject::object(const std::string& key) const { return ConfigObject(at(key), path_of(key)); }

double ConfigObject::number_in(const std::string& key, double min, double max,
                               std::optional<double> fallback) const {
  if (fallback && !has(key)) return *fallback;
  const double v = required<double>(key);
  if (v < min || v > max) {
    std::ostringstream s;
    s << "expected a number in [" << min << ", " << max << "], got " << value_.at(key).dump();
    throw ConfigError(path_of(key), s.str());
  }
  return v;
}

std::int64_t ConfigObject::integer_in(const std::string& key, std::int64_t min, std::int64_t max,
                                      std::optional<std::int64_t> fallback) const {
  if (fallback && !has(key)) return *fallback;
  const std::int64_t v = required<std::int64_t>(key);
  if (v < min || v > max) {
    std::ostringstream s;
    s << "expected an integer in [" << min << ", " << max << "], got " << value_.at(key).dump();
    throw ConfigError(path_of(key), s.str());
  }
  return v;
}

std::string ConfigObject::one_of(const std::string& key, const std::vector<std::string>& choices,
                                 std::optional<std::string> fallback) const {
  if (fallback && !has(key)) return *fallback;
  const std::string v = required<std::string>(key);
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return v;
  std::string message = "expected one of " + join(choices) + ", got \"" + v + "\"";
  if (auto near = closest_match(v, choices)) message += " (did you mean \"" + *near + "\"?)";
  throw ConfigError(path_of(key), message);
}

void ConfigObject::allow(const std::vector<std::string>& keys) const { known_.insert(keys.begin(), keys.end()); }

void ConfigObject::finish() const {
  for (const auto& item : value_.items()) {
    if (known_.count(item.key())) continue;
    const std::vector<std::string> known(known_.begin(), known_.end());
    std::string message = "unknown key";
    if (auto near = closest_match(item.key(), known)) message += " (did you mean \"" + *near + "\"?)";
    message += known.empty() ? std::string("; this section takes no keys") : "; expected one of: " + join(known);
    throw ConfigError(path_of(item.key()), message);
  }
}

}  // namespace lepton
