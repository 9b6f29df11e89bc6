// Model families as a searched parameter: reading `model.choices` and merging the families' spaces
// into one conditional space, so every searcher handles them like any other condition.
#include "experiment/model_choices.hpp"

#include <algorithm>
#include <cctype>

namespace lepton::engine {

namespace {

void validate_family(const std::string& family, const std::string& path) {
  const bool ok = !family.empty() && std::all_of(family.begin(), family.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (!ok)
    throw ConfigError(path, "a family name is letters, digits, '_' or '-' (it prefixes the family's parameters), got \"" +
                                family + "\"");
}

ModelChoice parse_choice(const std::string& family, const json& value, const std::string& path) {
  validate_family(family, path);
  if (!value.is_object())
    throw ConfigError(path, "expected an object of the family's parameters (specs to search, values to fix), got " +
                                describe_json(value));
  ModelChoice out;
  out.family = family;
  out.plugin = family;
  out.path = path;
  json space = json::object();
  for (const auto& item : value.items()) {
    const std::string item_path = path + "." + item.key();
    if (item.key() == "plugin") {
      if (!item.value().is_string() || item.value().get<std::string>().empty())
        throw ConfigError(item_path, "expected a model plugin's name, got " + describe_json(item.value()));
      out.plugin = item.value().get<std::string>();
    } else if (item.value().is_object()) {
      space[item.key()] = item.value();
    } else {
      out.config[item.key()] = item.value();
    }
  }
  out.space = SearchSpace::parse(space, path);
  for (const auto& spec : out.space.params())
    if (out.config.contains(spec.name))
      throw ConfigError(path + "." + spec.name, "\"" + spec.name + "\" is both fixed and searched in this family");
  return out;
}

}  // namespace

bool has_model_choices(const json& model_section) { return model_section.is_object() && model_section.contains("choices"); }

std::vector<ModelChoice> parse_model_choices(const json& model_section, const std::string& path) {
  ConfigObject section(model_section, path);
  const json& choices = section.raw("choices");
  const std::string choices_path = section.path_of("choices");
  section.finish();  // "plugin" and fixed values belong inside a choice
  if (!choices.is_object() || choices.empty())
    throw ConfigError(choices_path, "expected an object with at least one family, e.g. {\"mlp\": {}, \"linear\": {}}");
  std::vector<ModelChoice> out;
  for (const auto& item : choices.items())
    out.push_back(parse_choice(item.key(), item.value(), choices_path + "." + item.key()));
  return out;
}

std::string family_param(const std::string& family, const std::string& name) { return family + "." + name; }

SearchSpace merge_model_choices(const SearchSpace& shared, const std::vector<ModelChoice>& choices,
                                const std::string& shared_path) {
  if (shared.find(kModelParam))
    throw ConfigError(shared_path + "." + kModelParam,
                      "\"model\" holds the chosen family when the model section lists choices; rename this parameter");
  std::vector<ParamSpec> specs = shared.params();
  ParamSpec family;
  family.name = kModelParam;
  family.type = ParamType::kCategorical;
  for (const auto& c : choices) family.choices.push_back(c.family);
  specs.push_back(family);
  for (const auto& c : choices) {
    for (ParamSpec spec : c.space.params()) {
      // Conditions on the family's own parameters follow the renaming; shared ones stay as they are.
      std::map<std::string, std::vector<json>> when;
      for (auto& [parent, values] : spec.when)
        when[c.space.find(parent) ? family_param(c.family, parent) : parent] = std::move(values);
      when[kModelParam] = {c.family};
      spec.when = std::move(when);
      spec.name = family_param(c.family, spec.name);
      specs.push_back(std::move(spec));
    }
  }
  return SearchSpace::from_specs(std::move(specs), shared_path);
}

bool is_choice_param(const std::vector<ModelChoice>& choices, const std::string& name) {
  if (choices.empty()) return false;
  if (name == kModelParam) return true;
  return std::any_of(choices.begin(), choices.end(),
                     [&](const ModelChoice& c) { return name.rfind(c.family + ".", 0) == 0; });
}

const ModelChoice* chosen_family(const std::vector<ModelChoice>& choices, const json& params) {
  if (!params.is_object() || !params.contains(kModelParam)) return nullptr;
  const json& family = params.at(kModelParam);
  for (const auto& c : choices)
    if (family == c.family) return &c;
  return nullptr;
}

}  // namespace lepton::engine
