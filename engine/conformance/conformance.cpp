// The kit's driver: load the plugin on its own, check its manifest, then run its kind's checks.
#include "conformance/conformance.hpp"

#include "conformance/check_list.hpp"

#include <algorithm>
#include <filesystem>

namespace lepton::engine {

const char* to_string(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPass: return "PASS";
    case CheckStatus::kFail: return "FAIL";
    case CheckStatus::kSkip: return "SKIP";
  }
  return "?";
}

bool ConformanceReport::passed() const {
  return !checks.empty() &&
         std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.status == CheckStatus::kPass; });
}

namespace conformance {
std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "{";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "}";
}
}  // namespace conformance

ConformanceReport check_plugin(const std::string& file, const ConformanceOptions& options) {
  using namespace conformance;
  ConformanceReport report;
  // Each report gets its own registry, kept for the life of the process like every loaded plugin
  // (objects a plugin made must never outlive its code).
  static std::vector<std::unique_ptr<Registry>> registries;
  registries.push_back(std::make_unique<Registry>());
  Registry& registry = *registries.back();
  const PluginRecord& record = registry.load_file(file, "file");
  report.plugin = record;

  CheckList list;
  const bool loaded = list.run("loads", [&] {
    expect(record.loaded, record.error);
    return record.kind_name() + " \"" + record.name + "\" " + record.version + ", ABI " + std::to_string(record.abi);
  });
  if (!loaded) {
    report.checks = list.take();
    return report;
  }
  list.run("manifest", [&] {
    const std::string manifest_file =
        std::filesystem::path(record.file).replace_extension(".plugin.json").filename().string();
    expect(record.manifest.is_object(), "no manifest " + manifest_file +
                                            " beside the library: experiments cannot check parameters against it, "
                                            "and `lepton plugins inspect` has nothing to show");
    expect(record.manifest.contains("description") && record.manifest["description"].is_string() &&
               !record.manifest["description"].get<std::string>().empty(),
           manifest_file + " has no \"description\"");
    std::string note = manifest_file + ": " + std::to_string(record.parameters.rules().size()) + " parameter(s)";
    for (const auto& rule : record.parameters.rules())
      if (record.kind == PluginKind::kModel && rule.default_value.is_null())
        throw CheckFailure(manifest_file + ": model parameter \"" + rule.name + "\" has no \"default\"");
    if (record.kind == PluginKind::kMetric) note += ", " + std::to_string(record.metrics.size()) + " metric(s)";
    return note;
  });

  report.settings = json::object();
  if (record.manifest.is_object() && record.manifest.contains("conformance"))
    report.settings = record.manifest["conformance"];
  if (!report.settings.is_object()) report.settings = json::object();
  report.settings.merge_patch(options.overrides);

  std::vector<CheckResult> kind_checks;
  switch (*record.kind) {  // loaded, so known
    case PluginKind::kSearcher: kind_checks = check_searcher(registry.searcher(record.name), report.settings); break;
    case PluginKind::kModel:
      kind_checks = check_model(registry.model(record.name), record, report.settings, options.data_dirs);
      break;
    case PluginKind::kDataset:
      kind_checks = check_dataset(registry.dataset(record.name), report.settings, options.data_dirs);
      break;
    case PluginKind::kMetric: kind_checks = check_metric(registry.metric(record.name), record, report.settings); break;
  }
  report.checks = list.take();
  report.checks.insert(report.checks.end(), kind_checks.begin(), kind_checks.end());
  return report;
}

}  // namespace lepton::engine
