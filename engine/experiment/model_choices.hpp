// Model selection in the experiment file: `"model": {"choices": {"mlp": {...}, "linear": {...}}}` makes
// the model family a searched categorical parameter, each family's parameters conditional on it.
#pragma once

#include <lepton/config.hpp>
#include <lepton/search_space.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// The searched parameter that holds a trial's model family.
inline constexpr const char* kModelParam = "model";

/// One family a study may choose: a model plugin with fixed values and a space of its own.
struct ModelChoice {
  std::string family;            ///< the choice's key, the value `model` takes
  std::string plugin;            ///< the model plugin (`"plugin"` in the choice; the family name by default)
  json config = json::object();  ///< fixed parameters (scalars and arrays in the choice)
  SearchSpace space;             ///< searched parameters (objects in the choice), names without the prefix
  std::string path;              ///< JSON path of the choice, e.g. "model.choices.mlp"
};

/// Whether a `model` section lists choices rather than naming one plugin.
bool has_model_choices(const json& model_section);

/// Reads `model.choices`. Each choice is an object whose `"plugin"` names the model plugin (default:
/// the key), whose objects are parameter specs as in `search.space` (conditions may name the
/// family's own parameters or shared ones) and whose other values are fixed. Throws ConfigError at
/// the JSON path of the first problem.
std::vector<ModelChoice> parse_model_choices(const json& model_section, const std::string& path);

/// The stored name of a family's parameter: "<family>.<name>".
std::string family_param(const std::string& family, const std::string& name);

/// The study's whole space: the shared `search.space`, plus `model` (categorical over the families)
/// and every family's parameters renamed "<family>.<name>", active only when `model` is that family.
/// Throws ConfigError when the shared space already has a `model` parameter.
SearchSpace merge_model_choices(const SearchSpace& shared, const std::vector<ModelChoice>& choices,
                                const std::string& shared_path);

/// Whether `name` is `model` or a family's parameter.
bool is_choice_param(const std::vector<ModelChoice>& choices, const std::string& name);

/// The family a trial chose, from its parameters; nullptr when it names none of `choices`.
const ModelChoice* chosen_family(const std::vector<ModelChoice>& choices, const json& params);

}  // namespace lepton::engine
