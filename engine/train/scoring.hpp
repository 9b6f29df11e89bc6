// Scoring one split's predictions: the built-in metrics plus the experiment's metric plugins.
#pragma once

#include "experiment/parameters.hpp"

#include <lepton/dataset.hpp>
#include <lepton/metric.hpp>
#include <lepton/searcher.hpp>

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lepton::engine {

/// The study's metrics, computed the same way for validation (every epoch) and test.
class Scoring {
 public:
  /// One configured metric plugin.
  struct Plugin {
    std::string name;
    std::shared_ptr<const MetricSet> set;
    std::vector<DeclaredMetric> metrics;
  };

  void add(Plugin plugin) { plugins_.push_back(std::move(plugin)); }
  const std::vector<Plugin>& plugins() const noexcept { return plugins_; }

  /// "<prefix>_<metric>" for the built-in metrics and every plugin's declared ones. A plugin that
  /// throws, or leaves out a metric it declared, fails the trial with its name in the message.
  std::map<std::string, double> score(const at::Tensor& logits, const Split& split, const std::string& prefix) const;

  /// The direction of a plugin metric named with its split prefix ("val_sensitivity"), if declared.
  std::optional<Direction> direction_of(const std::string& metric) const;

 private:
  std::vector<Plugin> plugins_;
};

}  // namespace lepton::engine
