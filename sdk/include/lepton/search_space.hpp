// The search space: typed parameters, their ranges and the conditions under which they are active.
#pragma once

#include <lepton/config.hpp>
#include <lepton/export.hpp>
#include <lepton/random.hpp>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lepton {

/// The kinds of parameter a space holds.
enum class ParamType { kFloat, kInt, kCategorical, kFixed };

/// "float", "int", "categorical" or "fixed".
LEPTON_API const char* to_string(ParamType type);

/// One parameter of the space.
struct LEPTON_API ParamSpec {
  std::string name;                 ///< unique within the space
  ParamType type = ParamType::kFloat;
  double low = 0.0;                 ///< float/int: smallest value
  double high = 0.0;                ///< float/int: largest value
  bool log = false;                 ///< float/int: sample uniformly in log space
  double step = 0.0;                ///< float/int: values are low + k*step; 0 means continuous (float) or 1 (int)
  std::vector<json> choices;        ///< categorical: the JSON scalars to choose from
  json value;                       ///< fixed: the constant value
  /// Active only when every named parent is active and has one of the listed values.
  std::map<std::string, std::vector<json>> when;

  bool numeric() const { return type == ParamType::kFloat || type == ParamType::kInt; }
  bool conditional() const { return !when.empty(); }
  /// The number of values a discrete parameter can take (categorical, int, stepped float, fixed);
  /// 0 for a continuous float.
  std::int64_t cardinality() const;
  /// The i-th value of a discrete parameter, in increasing order for numbers (i < cardinality()).
  json value_at(std::int64_t i) const;
  /// The index of `value` among choices; -1 when absent.
  int choice_index(const json& value) const;
};

/// An assignment of values to the active parameters, as a JSON object name -> value. Inactive
/// parameters are absent. Integers are JSON integers, floats JSON numbers.
using Params = json;

/// A validated search space. Parameters are kept parents-first, so one pass in order can decide
/// activity and sample.
class LEPTON_API SearchSpace {
 public:
  SearchSpace() = default;

  /// Parses and validates a space object (`{"lr": {"type": "float", ...}, ...}`). Rejects unknown
  /// keys, wrong types, low > high, log with low <= 0, empty choices, conditions on unknown or
  /// cyclic parents, and condition values a parent can never take. Errors name the JSON path,
  /// which starts at `path` (e.g. "search.space").
  static SearchSpace parse(const json& space, const std::string& path);

  /// Builds a space from already-made specs (validated the same way as parse()).
  static SearchSpace from_specs(std::vector<ParamSpec> specs, const std::string& path = "space");

  /// Parameters, parents before children.
  const std::vector<ParamSpec>& params() const noexcept { return params_; }
  bool empty() const noexcept { return params_.empty(); }
  std::size_t size() const noexcept { return params_.size(); }
  /// The parameter named `name`, or nullptr.
  const ParamSpec* find(const std::string& name) const;

  /// Whether `spec` is active given the values chosen so far for its parents.
  bool is_active(const ParamSpec& spec, const Params& assignment) const;

  /// Draws an assignment uniformly (log-uniformly where `log`) over the active parameters.
  Params sample(Rng& rng) const;
  /// Draws one value for `spec` alone.
  static json sample_value(const ParamSpec& spec, Rng& rng);

  /// Returns why `assignment` is not a valid point of the space (a missing active parameter, an
  /// inactive or unknown one, a value out of range, off its step, of the wrong type, not among
  /// the choices), or nothing when it is valid.
  std::optional<std::string> check(const Params& assignment) const;

  /// Maps a numeric value to the searcher's internal scale: log(value) for log parameters, the
  /// value itself otherwise.
  static double to_internal(const ParamSpec& spec, double value);
  /// The internal-scale bounds [low, high] of a numeric parameter.
  static std::pair<double, double> internal_bounds(const ParamSpec& spec);
  /// Maps an internal-scale number back to a valid value: clamps, undoes the log, snaps to the
  /// step and rounds integers.
  static json from_internal(const ParamSpec& spec, double internal);

  /// Serializes back to the JSON form parse() reads.
  json to_json() const;

 private:
  std::vector<ParamSpec> params_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace lepton
