// Prediction: plugin in prediction mode, subset mapping, the network (a model folder's, or a
// TorchScript file's), metrics on labelled rows.
#include "train/predict.hpp"

#include "data/subset.hpp"
#include "train/preprocess.hpp"
#include "train/trainer.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>

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

namespace {

bool is_torchscript_file(const std::string& path) {
  const std::filesystem::path p(path);
  return std::filesystem::is_regular_file(p) && p.filename() != kModelCardFile && p.filename() != kWeightsFile;
}

// The card a TorchScript file from `lepton export --format torchscript` carries in its `lepton`
// attribute. Its dataset plugin reads files without the fitted standardization: the file applies
// that itself.
ModelCard torchscript_card(torch::jit::Module& module, const std::string& file) {
  const json about = module.hasattr("lepton") ? json::parse(module.attr("lepton").toStringRef(), nullptr, false) : json();
  if (!about.is_object() || !about.contains("dataset") || !about["dataset"].contains("fitted"))
    throw ConfigError("--model", file + " has no dataset state for lepton predict (exported by an older Lepton, or not by "
                                        "lepton export); export it again, or predict with the model folder");
  ModelCard card;
  card.model_plugin = about["model"].value("plugin", "");
  card.dataset_plugin = about["dataset"].value("plugin", "");
  card.dataset_config = about["dataset"].value("config", json::object());
  card.dataset_fitted = about["dataset"]["fitted"];
  card.dataset_fitted.erase("standardization");
  card.subset_classes = about["dataset"].value("subset_classes", std::vector<std::int64_t>{});
  card.input_shape = about.value("input_shape", std::vector<std::int64_t>{});
  card.class_names = about.value("class_names", std::vector<std::string>{});
  card.feature_names = about.value("feature_names", std::vector<std::string>{});
  return card;
}

}  // namespace

Predictions predict_file(const std::string& model, const std::string& data_file, const Registry& registry) {
  Predictions out;
  std::function<at::Tensor(const DataSplits&)> logits_of;
  if (is_torchscript_file(model)) {
    auto module = std::make_shared<torch::jit::Module>();
    try {
      *module = torch::jit::load(model);
    } catch (const std::exception& e) {
      throw ConfigError("--model", model + " is neither a model folder nor a TorchScript file: " +
                                       std::string(e.what()).substr(0, 200));
    }
    module->eval();
    out.card = torchscript_card(*module, model);
    logits_of = [module](const DataSplits& data) {
      torch::NoGradGuard no_grad;
      return module->run_method("logits", data.test.x.to(torch::kFloat32)).toTensor();
    };
  } else {
    out.card = read_model_card(model, "--model");
    auto net = load_model(model, out.card, registry, "--model");
    logits_of = [net](const DataSplits& data) {
      // Raw pixels for a network that does not scale them itself (saved before networks did).
      return predict_logits(*reading_pixels(net, data.pixels, data.input_shape), data.test.x);
    };
  }
  const DataSplits data = read_for_prediction(out.card, data_file, registry);
  for (const auto& notice : data.info.value("notices", json::array())) out.notices.push_back(notice.get<std::string>());
  out.sample_names = data.info.value("sample_names", std::vector<std::string>{});
  if (out.sample_names.size() != static_cast<std::size_t>(data.test.size())) out.sample_names.clear();
  const auto logits = logits_of(data).to(torch::kFloat64);
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
