// Search-space parsing, validation, sampling and the numeric scale searchers work in.
#include <lepton/search_space.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace lepton {

const char* to_string(ParamType type) {
  switch (type) {
    case ParamType::kFloat: return "float";
    case ParamType::kInt: return "int";
    case ParamType::kCategorical: return "categorical";
    case ParamType::kFixed: return "fixed";
  }
  return "unknown";
}

namespace {

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Number of steps that fit between low and high (the tolerance absorbs binary rounding of steps such as 0.1).
std::int64_t step_count(double low, double high, double step) {
  return static_cast<std::int64_t>(std::floor((high - low) / step + 1e-9));
}

bool is_scalar(const json& v) { return v.is_primitive() && !v.is_null(); }

bool can_take(const ParamSpec& spec, const json& v) {
  switch (spec.type) {
    case ParamType::kFixed: return spec.value == v;
    case ParamType::kCategorical: return spec.choice_index(v) >= 0;
    case ParamType::kInt:
      return v.is_number() && std::floor(v.get<double>()) == v.get<double>() && v.get<double>() >= spec.low &&
             v.get<double>() <= spec.high;
    case ParamType::kFloat: return v.is_number() && v.get<double>() >= spec.low && v.get<double>() <= spec.high;
  }
  return false;
}

std::string values_text(const std::vector<json>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + values[i].dump();
  return out + "]";
}

ParamSpec parse_param(const std::string& name, const json& value, const std::string& path) {
  ConfigObject cfg(value, path);
  ParamSpec spec;
  spec.name = name;
  const std::string type = cfg.one_of("type", {"float", "int", "categorical", "fixed"}, std::nullopt);
  if (type == "float" || type == "int") {
    spec.type = type == "float" ? ParamType::kFloat : ParamType::kInt;
    if (spec.type == ParamType::kInt) {
      spec.low = static_cast<double>(cfg.required<std::int64_t>("low"));
      spec.high = static_cast<double>(cfg.required<std::int64_t>("high"));
      spec.step = static_cast<double>(cfg.optional<std::int64_t>("step", 1));
    } else {
      spec.low = cfg.required<double>("low");
      spec.high = cfg.required<double>("high");
      spec.step = cfg.optional<double>("step", 0.0);
    }
    spec.log = cfg.optional<bool>("log", false);
    if (!std::isfinite(spec.low) || !std::isfinite(spec.high))
      throw ConfigError(path, "low and high must be finite numbers");
    if (spec.low > spec.high)
      throw ConfigError(cfg.path_of("low"), "low (" + number_text(spec.low) + ") is greater than high (" +
                                                number_text(spec.high) + ")");
    if (spec.log && spec.low <= 0)
      throw ConfigError(cfg.path_of("low"),
                        "a log-scale parameter needs low > 0, got low = " + number_text(spec.low));
    if (spec.step < 0 || (spec.type == ParamType::kInt && spec.step < 1))
      throw ConfigError(cfg.path_of("step"), "step must be positive, got " + number_text(spec.step));
    const bool stepped = spec.type == ParamType::kFloat ? spec.step > 0 : spec.step > 1;
    if (spec.log && stepped)
      throw ConfigError(cfg.path_of("step"), "log and step cannot be combined; drop one of them");
  } else if (type == "categorical") {
    spec.type = ParamType::kCategorical;
    const json& choices = cfg.raw("choices");
    if (!choices.is_array())
      throw ConfigError(cfg.path_of("choices"), "expected an array of values, got " + describe_json(choices));
    if (choices.empty()) throw ConfigError(cfg.path_of("choices"), "choices must not be empty");
    for (std::size_t i = 0; i < choices.size(); ++i) {
      const std::string item_path = cfg.path_of("choices") + "[" + std::to_string(i) + "]";
      if (!is_scalar(choices[i]))
        throw ConfigError(item_path, "expected a string, number or boolean, got " + describe_json(choices[i]));
      if (std::find(spec.choices.begin(), spec.choices.end(), choices[i]) != spec.choices.end())
        throw ConfigError(item_path, "duplicate choice " + choices[i].dump());
      spec.choices.push_back(choices[i]);
    }
  } else {
    spec.type = ParamType::kFixed;
    spec.value = cfg.raw("value");
    if (!is_scalar(spec.value))
      throw ConfigError(cfg.path_of("value"), "expected a string, number or boolean, got " + describe_json(spec.value));
  }
  if (cfg.has("when")) {
    ConfigObject when = cfg.object("when");
    for (const auto& item : when.value().items()) {
      const json& allowed = item.value();
      std::vector<json> values;
      if (allowed.is_array()) {
        values.assign(allowed.begin(), allowed.end());
      } else {
        values.push_back(allowed);
      }
      if (values.empty()) throw ConfigError(when.path_of(item.key()), "expected at least one value");
      for (const auto& v : values)
        if (!is_scalar(v))
          throw ConfigError(when.path_of(item.key()), "expected a value or an array of values, got " + describe_json(v));
      spec.when[item.key()] = std::move(values);
    }
  }
  cfg.finish();
  return spec;
}

void validate_name(const std::string& name, const std::string& path) {
  const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
  if (!ok) throw ConfigError(path, "parameter names use letters, digits, '_', '.' and '-' only");
}

}  // namespace

std::int64_t ParamSpec::cardinality() const {
  switch (type) {
    case ParamType::kFixed: return 1;
    case ParamType::kCategorical: return static_cast<std::int64_t>(choices.size());
    case ParamType::kInt: return step_count(low, high, step) + 1;
    case ParamType::kFloat: return step > 0 ? step_count(low, high, step) + 1 : 0;
  }
  return 0;
}

json ParamSpec::value_at(std::int64_t i) const {
  switch (type) {
    case ParamType::kFixed: return value;
    case ParamType::kCategorical: return choices.at(static_cast<std::size_t>(i));
    case ParamType::kInt: return static_cast<std::int64_t>(low) + i * static_cast<std::int64_t>(step);
    case ParamType::kFloat: return std::min(high, low + static_cast<double>(i) * step);
  }
  return nullptr;
}

int ParamSpec::choice_index(const json& v) const {
  for (std::size_t i = 0; i < choices.size(); ++i)
    if (choices[i] == v && choices[i].is_string() == v.is_string() && choices[i].is_boolean() == v.is_boolean())
      return static_cast<int>(i);
  return -1;
}

SearchSpace SearchSpace::parse(const json& space, const std::string& path) {
  if (!space.is_object()) throw ConfigError(path, "expected an object of parameters, got " + describe_json(space));
  std::vector<ParamSpec> specs;
  for (const auto& item : space.items()) {
    const std::string item_path = join_path(path, item.key());
    validate_name(item.key(), item_path);
    specs.push_back(parse_param(item.key(), item.value(), item_path));
  }
  return from_specs(std::move(specs), path);
}

SearchSpace SearchSpace::from_specs(std::vector<ParamSpec> specs, const std::string& path) {
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!position.emplace(specs[i].name, i).second)
      throw ConfigError(join_path(path, specs[i].name), "duplicate parameter");
  }
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  // Check each condition names a real parent and values the parent can take.
  for (const auto& spec : specs) {
    for (const auto& [parent, values] : spec.when) {
      const std::string when_path = join_path(join_path(join_path(path, spec.name), "when"), parent);
      const auto it = position.find(parent);
      if (it == position.end()) {
        std::string message = "condition on unknown parameter \"" + parent + "\"";
        if (auto near = closest_match(parent, names)) message += " (did you mean \"" + *near + "\"?)";
        throw ConfigError(when_path, message);
      }
      if (parent == spec.name) throw ConfigError(when_path, "a parameter cannot depend on itself");
      const ParamSpec& p = specs[it->second];
      for (const auto& v : values)
        if (!can_take(p, v))
          throw ConfigError(when_path, "\"" + parent + "\" can never be " + v.dump() +
                                           (p.type == ParamType::kCategorical ? "; its choices are " + values_text(p.choices)
                                                                              : std::string()));
    }
  }
  // Order parents before children (Kahn's algorithm; ties keep the given order).
  std::vector<ParamSpec> ordered;
  std::set<std::string> placed;
  while (ordered.size() < specs.size()) {
    bool progressed = false;
    for (const auto& spec : specs) {
      if (placed.count(spec.name)) continue;
      const bool ready = std::all_of(spec.when.begin(), spec.when.end(),
                                     [&](const auto& condition) { return placed.count(condition.first) > 0; });
      if (!ready) continue;
      ordered.push_back(spec);
      placed.insert(spec.name);
      progressed = true;
    }
    if (!progressed) {
      for (const auto& spec : specs)
        if (!placed.count(spec.name))
          throw ConfigError(join_path(join_path(path, spec.name), "when"), "conditions form a cycle");
    }
  }
  SearchSpace space;
  space.params_ = std::move(ordered);
  for (std::size_t i = 0; i < space.params_.size(); ++i) space.index_[space.params_[i].name] = i;
  return space;
}

const ParamSpec* SearchSpace::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

bool SearchSpace::is_active(const ParamSpec& spec, const Params& assignment) const {
  for (const auto& [parent, values] : spec.when) {
    const auto it = assignment.find(parent);
    if (it == assignment.end()) return false;
    const ParamSpec* p = find(parent);
    const bool match = std::any_of(values.begin(), values.end(), [&](const json& v) {
      return p && p->type == ParamType::kCategorical ? p->choice_index(v) == p->choice_index(*it) : v == *it;
    });
    if (!match) return false;
  }
  return true;
}

json SearchSpace::sample_value(const ParamSpec& spec, Rng& rng) {
  switch (spec.type) {
    case ParamType::kFixed: return spec.value;
    case ParamType::kCategorical:
      return spec.choices[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(spec.choices.size()) - 1))];
    case ParamType::kInt:
      if (spec.log) {
        // Widen by half a unit on each side so the end values are as likely as the others.
        const double x = uniform(rng, std::log(spec.low - 0.5), std::log(spec.high + 0.5));
        return from_internal(spec, std::log(std::clamp(std::round(std::exp(x)), spec.low, spec.high)));
      }
      return spec.value_at(uniform_int(rng, 0, spec.cardinality() - 1));
    case ParamType::kFloat:
      if (spec.step > 0) return spec.value_at(uniform_int(rng, 0, spec.cardinality() - 1));
      if (spec.log) return from_internal(spec, uniform(rng, std::log(spec.low), std::log(spec.high)));
      return from_internal(spec, uniform(rng, spec.low, spec.high));
  }
  return nullptr;
}

Params SearchSpace::sample(Rng& rng) const {
  Params out = json::object();
  for (const auto& spec : params_)
    if (is_active(spec, out)) out[spec.name] = sample_value(spec, rng);
  return out;
}

std::optional<std::string> SearchSpace::check(const Params& assignment) const {
  if (!assignment.is_object()) return "parameters must be a JSON object, got " + describe_json(assignment);
  for (const auto& item : assignment.items())
    if (!find(item.key())) return "unknown parameter \"" + item.key() + "\"";
  for (const auto& spec : params_) {
    const bool active = is_active(spec, assignment);
    const auto it = assignment.find(spec.name);
    if (!active) {
      if (it != assignment.end()) return "parameter \"" + spec.name + "\" is inactive under its conditions but has a value";
      continue;
    }
    if (it == assignment.end()) return "active parameter \"" + spec.name + "\" has no value";
    const json& v = *it;
    const std::string where = "parameter \"" + spec.name + "\" = " + v.dump();
    switch (spec.type) {
      case ParamType::kFixed:
        if (v != spec.value) return where + " differs from its fixed value " + spec.value.dump();
        break;
      case ParamType::kCategorical:
        if (spec.choice_index(v) < 0) return where + " is not one of " + values_text(spec.choices);
        break;
      case ParamType::kInt: {
        if (!v.is_number_integer() && !v.is_number_unsigned()) return where + " is not an integer";
        const auto i = v.get<std::int64_t>();
        if (i < spec.low || i > spec.high) return where + " is outside [" + number_text(spec.low) + ", " + number_text(spec.high) + "]";
        if ((i - static_cast<std::int64_t>(spec.low)) % static_cast<std::int64_t>(spec.step) != 0)
          return where + " is not on step " + number_text(spec.step);
        break;
      }
      case ParamType::kFloat: {
        if (!v.is_number()) return where + " is not a number";
        const double d = v.get<double>();
        if (!(d >= spec.low && d <= spec.high))
          return where + " is outside [" + number_text(spec.low) + ", " + number_text(spec.high) + "]";
        if (spec.step > 0) {
          const double k = (d - spec.low) / spec.step;
          if (std::fabs(k - std::round(k)) > 1e-6) return where + " is not on step " + number_text(spec.step);
        }
        break;
      }
    }
  }
  return std::nullopt;
}

double SearchSpace::to_internal(const ParamSpec& spec, double value) { return spec.log ? std::log(value) : value; }

std::pair<double, double> SearchSpace::internal_bounds(const ParamSpec& spec) {
  return {to_internal(spec, spec.low), to_internal(spec, spec.high)};
}

json SearchSpace::from_internal(const ParamSpec& spec, double internal) {
  const auto [lo, hi] = internal_bounds(spec);
  if (std::isnan(internal)) internal = lo;
  double v = std::clamp(internal, lo, hi);
  if (spec.log) v = std::clamp(std::exp(v), spec.low, spec.high);
  const double step = spec.type == ParamType::kInt ? std::max(1.0, spec.step) : spec.step;
  if (step > 0) {
    const auto k = std::clamp<std::int64_t>(std::llround((v - spec.low) / step), 0, spec.cardinality() - 1);
    return spec.value_at(k);
  }
  return v;
}

json SearchSpace::to_json() const {
  json out = json::object();
  for (const auto& spec : params_) {
    json p = {{"type", to_string(spec.type)}};
    if (spec.numeric()) {
      if (spec.type == ParamType::kInt) {
        p["low"] = static_cast<std::int64_t>(spec.low);
        p["high"] = static_cast<std::int64_t>(spec.high);
        if (spec.step > 1) p["step"] = static_cast<std::int64_t>(spec.step);
      } else {
        p["low"] = spec.low;
        p["high"] = spec.high;
        if (spec.step > 0) p["step"] = spec.step;
      }
      if (spec.log) p["log"] = true;
    } else if (spec.type == ParamType::kCategorical) {
      p["choices"] = spec.choices;
    } else {
      p["value"] = spec.value;
    }
    if (!spec.when.empty()) {
      json when = json::object();
      for (const auto& [parent, values] : spec.when) when[parent] = values;
      p["when"] = when;
    }
    out[spec.name] = p;
  }
  return out;
}

}  // namespace lepton
