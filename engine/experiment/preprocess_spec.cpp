// The preprocessing settings and their checks.
#include "experiment/preprocess_spec.hpp"

namespace lepton::engine {

const ParamSchema& preprocess_schema() {
  static const ParamSchema schema = ParamSchema::parse(
      json::parse(R"json({
        "scaler":         {"type": "categorical", "choices": ["none", "standardize", "minmax"], "default": "none",
                           "description": "feature scaling fitted on the training split (or fold)"},
        "pca":            {"type": "bool", "default": false,
                           "description": "project the (scaled) features on their principal components"},
        "pca_components": {"type": "int", "low": 1, "high": 100000,
                           "description": "components PCA keeps (capped at the feature count); unset: 95% of the variance"},
        "encoding":       {"type": "categorical", "choices": ["onehot", "ordinal"], "default": "onehot",
                           "description": "the dataset's categorical features: one 0/1 column per category, or the category's index (no effect on data without them)"}
      })json"),
      "preprocess");
  return schema;
}

json parse_preprocess(const json& section, const std::string& path) {
  ConfigObject cfg(section, path);
  json out = json::object();
  for (const auto& rule : preprocess_schema().rules()) {
    if (!cfg.has(rule.name)) continue;
    check_value(rule, cfg.raw(rule.name), cfg.path_of(rule.name));
    out[rule.name] = cfg.raw(rule.name);
  }
  cfg.finish();
  return out;
}

}  // namespace lepton::engine
