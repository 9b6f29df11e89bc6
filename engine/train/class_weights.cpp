// Class weights from the training split's class counts or from the experiment.
#include "train/class_weights.hpp"

#include <lepton/metric.hpp>

#include <torch/torch.h>

namespace lepton::engine {

at::Tensor class_weights(const json& setting, const DataSplits& data, const std::string& path) {
  const auto classes = static_cast<std::int64_t>(data.class_names.size());
  if (setting.is_null() || setting == "none") return {};
  if (setting == "balanced") {
    const auto counts = torch::bincount(data.train.y, /*weights=*/{}, /*minlength=*/classes).to(torch::kFloat32);
    if ((counts == 0).any().item<bool>()) {
      const auto missing = (counts == 0).nonzero().flatten()[0].item<std::int64_t>();
      throw ConfigError(path, "\"balanced\" needs every class in the training split; class \"" +
                                  data.class_names[static_cast<std::size_t>(missing)] + "\" has no sample there");
    }
    return (static_cast<float>(data.train.size()) / (static_cast<float>(classes) * counts)).contiguous();
  }
  auto weights = torch::ones({classes}, torch::kFloat32);
  if (setting.is_array()) {
    if (static_cast<std::int64_t>(setting.size()) != classes)
      throw ConfigError(path, "expected " + std::to_string(classes) + " weights, one per class, got " +
                                  std::to_string(setting.size()));
    for (std::int64_t c = 0; c < classes; ++c) weights[c] = setting[static_cast<std::size_t>(c)].get<double>();
    return weights;
  }
  for (const auto& item : setting.items())
    weights[class_index(json(item.key()), data.class_names, join_path(path, item.key()))] = item.value().get<double>();
  return weights;
}

}  // namespace lepton::engine
