// Metric checks: every declared metric computed and finite, deterministic, order-free, and
// perfect predictions scoring at least as well as random ones.
#include "conformance/check_list.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

namespace lepton::engine::conformance {

namespace {

constexpr std::int64_t kSamples = 200;

// Random probabilities, labels with every class present, and an outcome that agrees in sign with
// whether the sample is of the last class (as a next-day return agrees with an "up" label).
Predictions random_predictions(std::int64_t classes, std::uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  Predictions p;
  p.labels = torch::arange(kSamples, torch::kLong) % classes;
  p.labels = p.labels.index_select(0, torch::randperm(kSamples, generator, torch::kLong));
  p.probabilities = torch::softmax(torch::randn({kSamples, classes}, generator, torch::kFloat64), 1);
  const auto magnitude = torch::rand({kSamples}, generator, torch::kFloat64) * 0.02 + 0.001;
  p.outcome = torch::where(p.labels == classes - 1, magnitude, -magnitude);
  p.split = "val";
  return p;
}

Predictions perfect(const Predictions& p, std::int64_t classes) {
  Predictions out = p;
  out.probabilities = torch::one_hot(p.labels, classes).to(torch::kFloat64) * 0.98 + 0.02 / static_cast<double>(classes);
  return out;
}

Predictions permuted(const Predictions& p) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(99);
  const auto order = torch::randperm(kSamples, generator, torch::kLong);
  Predictions out = p;
  out.probabilities = p.probabilities.index_select(0, order).contiguous();
  out.labels = p.labels.index_select(0, order).contiguous();
  out.outcome = p.outcome.index_select(0, order).contiguous();
  return out;
}

bool close(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(a));
}

}  // namespace

std::vector<CheckResult> check_metric(const MetricFactory& factory, const PluginRecord& record, const json& settings) {
  ConfigObject cfg(settings, "conformance");
  const json options = cfg.optional<json>("options", json::object());
  const auto class_names =
      cfg.optional<json>("classes", json::array({"negative", "positive"})).get<std::vector<std::string>>();
  cfg.finish();
  const auto classes = static_cast<std::int64_t>(class_names.size());
  expect(classes >= 2, "conformance.classes: expected at least 2 class names");

  MetricSetup setup;
  setup.options = options;
  setup.class_names = class_names;
  CheckList list;
  std::unique_ptr<MetricSet> set;
  const bool created = list.run("creates from its options", [&] {
    set = factory(setup);
    expect(set != nullptr, "the factory returned no metric set");
    std::string names;
    for (const auto& c : class_names) names += (names.empty() ? "" : ", ") + c;
    return "options " + options.dump() + ", classes " + names;
  });
  if (!created) {
    list.skip({"rejects unknown options", "computes every declared metric", "deterministic", "independent of sample order",
               "perfect predictions score best"},
              "the metric set cannot be created");
    return list.take();
  }
  list.run("rejects unknown options", [&] {
    MetricSetup bad = setup;
    bad.options["no_such_option"] = 1;
    return expect_config_error([&] { factory(bad); }, "metrics[].no_such_option");
  });
  const Predictions random = random_predictions(classes, 5);
  std::map<std::string, double> values;
  const bool computes = list.run("computes every declared metric", [&] {
    values = set->compute(random);
    std::string note;
    for (const auto& m : record.metrics) {
      const auto it = values.find(m.name);
      expect(it != values.end(), "\"" + m.name + "\" is declared in the manifest but compute() did not return it");
      expect(std::isfinite(it->second), "\"" + m.name + "\" is " + std::to_string(it->second) + " on " +
                                            std::to_string(kSamples) + " random predictions with every class present");
      note += (note.empty() ? "" : ", ") + m.name + " " + std::to_string(it->second);
    }
    for (const auto& [name, value] : values) {
      const bool declared = std::any_of(record.metrics.begin(), record.metrics.end(),
                                        [&](const DeclaredMetric& m) { return m.name == name; });
      expect(declared, "compute() returned \"" + name + "\", which the manifest does not declare");
    }
    return note;
  });
  if (!computes) {
    list.skip({"deterministic", "independent of sample order", "perfect predictions score best"},
              "the declared metrics are not computed");
    return list.take();
  }
  list.run("deterministic", [&] {
    const auto again = set->compute(random);
    for (const auto& [name, value] : values)
      expect(close(value, again.at(name)), "\"" + name + "\" gave " + std::to_string(value) + " then " + std::to_string(again.at(name)));
    return "the same predictions give the same values";
  });
  list.run("independent of sample order", [&] {
    const auto shuffled = set->compute(permuted(random));
    for (const auto& [name, value] : values)
      expect(close(value, shuffled.at(name)),
             "\"" + name + "\" changed from " + std::to_string(value) + " to " + std::to_string(shuffled.at(name)) +
                 " when the samples were shuffled");
    return "shuffling the samples changes nothing";
  });
  list.run("perfect predictions score best", [&] {
    const auto best = set->compute(perfect(random, classes));
    for (const auto& m : record.metrics) {
      const double b = best.at(m.name), r = values.at(m.name);
      const bool better = m.direction == Direction::kMaximize ? b >= r - 1e-12 : b <= r + 1e-12;
      expect(better, "\"" + m.name + "\" (" + to_string(m.direction) + ") is " + std::to_string(b) +
                         " for perfect predictions but " + std::to_string(r) + " for random ones: check its direction");
    }
    return "every metric at least as good for perfect predictions as for random ones";
  });
  return list.take();
}

}  // namespace lepton::engine::conformance
