// Strict reading of JSON configuration: every error names the JSON path and what was expected.
#pragma once

#include <lepton/export.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace lepton {

using json = nlohmann::json;

/// Bad input from the user (experiment file, plugin options, command line). The engine reports it
/// on stderr and exits with code 2. `path()` is the JSON path of the offending value, e.g.
/// `search.space.lr.low`, or empty when the error is not about one value.
class LEPTON_API ConfigError : public std::runtime_error {
 public:
  /// `message` says what was expected and, where possible, how to fix it.
  ConfigError(std::string path, const std::string& message);
  /// The JSON path of the offending value.
  const std::string& path() const noexcept { return path_; }
  /// The message without the path prefix.
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string path_;
  std::string detail_;
};

/// Joins a JSON path and a key: `join_path("search", "space")` is `search.space`.
LEPTON_API std::string join_path(const std::string& path, const std::string& key);

/// Describes a JSON value for error messages: `string "abc"`, `number 2.5`, `an object`.
LEPTON_API std::string describe_json(const json& value);

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
LEPTON_API std::optional<std::string> closest_match(const std::string& word,
                                                    const std::vector<std::string>& candidates);

/// The error for a name that is not among `known`: `no column "lable" (did you mean "label"?);
/// columns: a, b, ...` (`what` is "column", "attribute", "class", ...; at most 12 are listed).
LEPTON_API ConfigError unknown_name_error(const std::string& path, const std::string& what, const std::string& name,
                                          const std::vector<std::string>& known);

/// Reads one JSON object strictly. Each getter records the key as known; `finish()` then rejects
/// any key nobody asked for, suggesting the closest known key. Typical use:
///
///     lepton::ConfigObject cfg(request.config, "dataset");
///     auto path = cfg.required<std::string>("path");
///     auto label = cfg.optional<std::string>("label", "last");
///     cfg.finish();   // throws on a misspelt key such as "lable"
class LEPTON_API ConfigObject {
 public:
  /// Throws ConfigError when `value` is not an object.
  ConfigObject(const json& value, std::string path);

  /// The value at `key`, converted to T (bool, std::int64_t, int, double, std::string, json).
  /// Throws when missing or of the wrong type.
  template <typename T>
  T required(const std::string& key) const;
  /// Like required(), but `fallback` when the key is absent.
  template <typename T>
  T optional(const std::string& key, T fallback) const;

  /// A number in [min, max]; `fallback` when absent (required when there is none).
  double number_in(const std::string& key, double min, double max, std::optional<double> fallback) const;
  /// An integer in [min, max]; `fallback` when absent (required when there is none).
  std::int64_t integer_in(const std::string& key, std::int64_t min, std::int64_t max,
                          std::optional<std::int64_t> fallback) const;
  /// One of `choices`; `fallback` when absent (required when there is none).
  std::string one_of(const std::string& key, const std::vector<std::string>& choices,
                     std::optional<std::string> fallback) const;

  /// A nested object, read with the same rules.
  ConfigObject object(const std::string& key) const;
  /// True when the key is present (and marks it known).
  bool has(const std::string& key) const;
  /// The raw value at `key` (marks it known); throws when missing.
  const json& raw(const std::string& key) const;
  /// The path of the value at `key`.
  std::string path_of(const std::string& key) const { return join_path(path_, key); }
  /// The path of this object.
  const std::string& path() const noexcept { return path_; }
  /// The underlying JSON.
  const json& value() const noexcept { return value_; }

  /// Marks keys as known without reading them (for keys read by someone else).
  void allow(const std::vector<std::string>& keys) const;
  /// Throws ConfigError naming the first unknown key.
  void finish() const;

 private:
  const json& at(const std::string& key) const;
  json value_;
  std::string path_;
  mutable std::set<std::string> known_;
};

/// Converts `value` at `path` to T with a precise error; the building block of ConfigObject.
template <typename T>
T convert(const json& value, const std::string& path);

template <>
LEPTON_API bool convert<bool>(const json& value, const std::string& path);
template <>
LEPTON_API int convert<int>(const json& value, const std::string& path);
template <>
LEPTON_API std::int64_t convert<std::int64_t>(const json& value, const std::string& path);
template <>
LEPTON_API double convert<double>(const json& value, const std::string& path);
template <>
LEPTON_API std::string convert<std::string>(const json& value, const std::string& path);
template <>
LEPTON_API json convert<json>(const json& value, const std::string& path);

template <typename T>
T ConfigObject::required(const std::string& key) const {
  return convert<T>(at(key), path_of(key));
}

template <typename T>
T ConfigObject::optional(const std::string& key, T fallback) const {
  known_.insert(key);
  if (!value_.contains(key)) return fallback;
  return convert<T>(value_.at(key), path_of(key));
}

}  // namespace lepton
