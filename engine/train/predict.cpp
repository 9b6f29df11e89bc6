// Prediction: plugin in prediction mode, subset mapping, the network, metrics on labelled rows.
#include "train/predict.hpp"

#include "data/subset.hpp"
#include "train/preprocess.hpp"
#include "train/trainer.hpp"

#include <torch/torch.h>

#include <filesystem>

namespace lepton::engine {

DataSplits read_for_prediction(const ModelCard& card, const std::string& data_file, const Registry& registry) {
  registry.require(PluginKind::kDataset, card.dataset_plugin, "--model: model.json: dataset.plugin");
  DatasetRequest request;
  request.config = card.dataset_config;
  request.path = "model.json: dataset.config";
  request.search_dirs = {std::filesystem::current_path().string()};
  request.predict = true;
  request.file = data_file;
  request.fitted = card.dataset_fitted;
  DataSplits data = registry.dataset(card.dataset_plugin).load(request);
  if (data.test.size() == 0) throw ConfigError("--data", data_file + " holds no samples");
  if (data.input_shape != card.input_shape)
    throw ConfigError("--data", data_file + " has samples of shape " + json(data.input_shape).dump() +
                                    " but the model takes " + json(card.input_shape).dump());
  return data;
}

Predictions predict_file(const std::string& model_folder, const std::string& data_file, const Registry& registry) {
  Predictions out;
  out.card = read_model_card(model_folder, "--model");
  auto net = load_model(model_folder, out.card, registry, "--model");
  const DataSplits data = read_for_prediction(out.card, data_file, registry);
  for (const auto& notice : data.info.value("notices", json::array())) out.notices.push_back(notice.get<std::string>());
  out.sample_names = data.info.value("sample_names", std::vector<std::string>{});
  if (out.sample_names.size() != static_cast<std::size_t>(data.test.size())) out.sample_names.clear();
  // Raw pixels for a network that does not scale them itself (saved before networks did).
  net = reading_pixels(net, data.pixels, data.input_shape);
  const auto logits = predict_logits(*net, data.test.x).to(torch::kFloat64);
  out.probabilities = torch::softmax(logits, 1);
  out.predicted = logits.argmax(1);
  if (!data.test.y.defined()) return out;
  out.labels = out.card.subset_classes.empty() ? data.test.y : remap_labels(data.test.y, out.card.subset_classes);
  const auto known = out.labels.ge(0).nonzero().reshape({-1});
  out.scored = known.numel();
  if (out.scored > 0)
    out.metrics = classification_metrics(logits.index_select(0, known), out.labels.index_select(0, known));
  return out;
}

}  // namespace lepton::engine
