// Saving and loading models. Weights use LibTorch's archive format, nested by submodule exactly as
// torch::save(module) writes it; loading checks every name and shape instead of resizing silently.
#include "train/checkpoint.hpp"

#include "train/preprocess.hpp"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace lepton::engine {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "lepton-model";
constexpr int kFormatVersion = 1;

std::string shape_text(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) out << (i ? ", " : "") << sizes[i];
  out << "]";
  return out.str();
}

void write_module(const torch::nn::Module& module, torch::serialize::OutputArchive& archive) {
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    archive.write(p.key(), p.value().detach().clone(), /*is_buffer=*/false);
  for (const auto& b : module.named_buffers(/*recurse=*/false))
    archive.write(b.key(), b.value().detach().clone(), /*is_buffer=*/true);
  for (const auto& child : module.named_children()) {
    torch::serialize::OutputArchive sub(archive.compilation_unit());
    write_module(*child.value(), sub);
    archive.write(child.key(), sub);
  }
}

void read_module(torch::nn::Module& module, torch::serialize::InputArchive& archive, const std::string& prefix,
                 const std::string& path) {
  auto copy = [&](const std::string& name, at::Tensor& target, bool is_buffer) {
    at::Tensor saved;
    if (!archive.try_read(name, saved, is_buffer))
      throw ConfigError(path, "the saved weights have no " + std::string(is_buffer ? "buffer " : "parameter ") +
                                  prefix + name + "; they were saved from a different network");
    if (saved.sizes() != target.sizes())
      throw ConfigError(path, prefix + name + " has shape " + shape_text(saved.sizes()) +
                                  " in the saved weights but " + shape_text(target.sizes()) +
                                  " in the network built from model.json");
    torch::NoGradGuard no_grad;
    target.copy_(saved);
  };
  for (auto& p : module.named_parameters(/*recurse=*/false)) copy(p.key(), p.value(), false);
  for (auto& b : module.named_buffers(/*recurse=*/false)) copy(b.key(), b.value(), true);
  for (const auto& child : module.named_children()) {
    torch::serialize::InputArchive sub;
    if (!archive.try_read(child.key(), sub))
      throw ConfigError(path, "the saved weights have no module " + prefix + child.key() +
                                  "; they were saved from a different network");
    read_module(*child.value(), sub, prefix + child.key() + ".", path);
  }
}

std::string card_file(const std::string& folder) {
  const fs::path given(folder);
  return given.filename() == kModelCardFile ? given.string() : (given / kModelCardFile).string();
}

}  // namespace

json ModelCard::to_json() const {
  json out = {{"format", kFormat},
          {"format_version", kFormatVersion},
          {"model", {{"plugin", model_plugin}, {"version", model_version}, {"params", model_params}}},
          {"input_shape", input_shape},
          {"class_names", class_names},
          {"dataset",
           {{"plugin", dataset_plugin}, {"config", dataset_config}, {"fitted", dataset_fitted},
            {"subset_classes", subset_classes}}},
          {"weights", kWeightsFile},
          {"provenance", provenance}};
  if (!preprocess.empty()) out["preprocess"] = preprocess;
  if (!feature_names.empty()) out["feature_names"] = feature_names;
  if (!search_dirs.empty()) out["model"]["search_dirs"] = search_dirs;
  return out;
}

ModelCard ModelCard::from_json(const json& value, const std::string& file) {
  ConfigObject root(value, file);
  if (root.optional<std::string>("format", "") != kFormat)
    throw ConfigError(file, "not a Lepton model (expected \"format\": \"" + std::string(kFormat) + "\")");
  const auto version = root.integer_in("format_version", 1, 1000, std::nullopt);
  if (version > kFormatVersion)
    throw ConfigError(file, "written by a newer Lepton (model format " + std::to_string(version) +
                                ", this build reads up to " + std::to_string(kFormatVersion) + ")");
  ModelCard card;
  ConfigObject model = root.object("model");
  card.model_plugin = model.required<std::string>("plugin");
  card.model_version = model.optional<std::string>("version", "");
  card.model_params = model.object("params").value();
  card.search_dirs = model.optional<json>("search_dirs", json::array()).get<std::vector<std::string>>();
  model.finish();
  card.input_shape = root.required<json>("input_shape").get<std::vector<std::int64_t>>();
  card.class_names = root.required<json>("class_names").get<std::vector<std::string>>();
  ConfigObject dataset = root.object("dataset");
  card.dataset_plugin = dataset.required<std::string>("plugin");
  card.dataset_config = dataset.object("config").value();
  card.dataset_fitted = dataset.optional<json>("fitted", json::object());
  card.subset_classes = dataset.optional<json>("subset_classes", json::array()).get<std::vector<std::int64_t>>();
  dataset.finish();
  root.allow({"weights"});
  card.preprocess = root.optional<json>("preprocess", json::object());
  card.feature_names = root.optional<json>("feature_names", json::array()).get<std::vector<std::string>>();
  card.provenance = root.optional<json>("provenance", json::object());
  root.finish();
  return card;
}

void save_model(const std::string& folder, Network& net, const ModelCard& card) {
  static std::atomic<unsigned> counter{0};
  const fs::path target = fs::absolute(folder);  // a bare name has no parent to write beside
  fs::create_directories(target.parent_path());
  const fs::path temporary = target.parent_path() / ("." + target.filename().string() + ".tmp-" +
                                                     std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(temporary);
  fs::create_directories(temporary);
  try {
    torch::serialize::OutputArchive archive;
    write_module(net, archive);
    archive.save_to((temporary / kWeightsFile).string());
    std::ofstream out(temporary / kModelCardFile, std::ios::binary);
    out << card.to_json().dump(2) << "\n";
    out.close();
    if (!out) throw std::runtime_error("cannot write " + (temporary / kModelCardFile).string());
    std::error_code ec;
    fs::remove_all(target, ec);
    fs::rename(temporary, target);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(temporary, ec);
    throw;
  }
}

ModelCard read_model_card(const std::string& folder, const std::string& path) {
  const std::string file = card_file(folder);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(path, "no saved model at " + folder + " (" + file + " cannot be read)");
  json value;
  try {
    value = json::parse(in);
  } catch (const json::exception& e) {
    throw ConfigError(path, file + ": invalid JSON: " + e.what());
  }
  try {
    return ModelCard::from_json(value, file);
  } catch (const ConfigError& e) {
    throw ConfigError(path, e.what());
  }
}

void load_weights(Network& net, const std::string& folder, const std::string& path) {
  const fs::path dir = fs::path(card_file(folder)).parent_path();
  const std::string file = (dir / kWeightsFile).string();
  if (!fs::is_regular_file(file)) throw ConfigError(path, "the saved model has no weights: " + file + " is missing");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file);
  } catch (const std::exception& e) {
    throw ConfigError(path, file + " cannot be read: " + std::string(e.what()).substr(0, 200));
  }
  read_module(net, archive, "", path + " (" + file + ")");
}

void copy_weights(const Network& from, Network& to, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto source = from.named_parameters();
  auto source_buffers = from.named_buffers();
  auto copy = [&](const torch::OrderedDict<std::string, at::Tensor>& items, torch::OrderedDict<std::string, at::Tensor> targets,
                  const char* kind) {
    for (auto& target : targets) {
      const at::Tensor* value = items.find(target.key());
      if (!value) throw ConfigError("", what + " has no " + kind + " " + target.key());
      if (value->sizes() != target.value().sizes())
        throw ConfigError("", target.key() + " has shape " + shape_text(value->sizes()) + " in " + what + " but " +
                                    shape_text(target.value().sizes()) + " here");
      target.value().copy_(*value);
    }
  };
  copy(source, to.named_parameters(), "parameter");
  copy(source_buffers, to.named_buffers(), "buffer");
}

std::shared_ptr<Network> load_model(const std::string& folder, const ModelCard& card, const Registry& registry,
                                    const std::string& path, const json& params) {
  registry.require(PluginKind::kModel, card.model_plugin, path);
  ModelRequest request;
  request.params = card.model_params;
  for (const auto& item : params.items()) request.params[item.key()] = item.value();
  request.path = path + ": model.params";
  request.search_dirs = card.search_dirs;
  request.search_dirs.push_back(fs::current_path().string());
  // A network trained behind fitted preprocessing is rebuilt behind a blank one; its weights fill it in.
  const Preprocessor pre = blank_preprocessor(card.preprocess, card.input_shape);
  request.shape.input = pre.output_shape();
  request.shape.classes = static_cast<std::int64_t>(card.class_names.size());
  std::shared_ptr<Network> net;
  try {
    net = registry.model(card.model_plugin).build(request);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(path, "model " + card.model_plugin + " cannot build the saved network: " + e.what());
  }
  if (!net) throw ConfigError(path, "model " + card.model_plugin + ": build() returned no network");
  net = with_preprocessing(std::move(net), pre);
  load_weights(*net, folder, path);
  net->eval();
  return net;
}

void copy_model(const std::string& folder, const std::string& destination, bool overwrite) {
  const fs::path source = fs::path(card_file(folder)).parent_path();
  const fs::path target(destination);
  if (fs::exists(target / kModelCardFile) && !overwrite)
    throw ConfigError("-o", target.string() + " already holds a model; pass --force to replace it");
  if (fs::exists(target) && !fs::is_directory(target))
    throw ConfigError("-o", target.string() + " exists and is not a folder");
  fs::create_directories(target);
  for (const char* name : {kModelCardFile, kWeightsFile})
    fs::copy_file(source / name, target / name, fs::copy_options::overwrite_existing);
}

}  // namespace lepton::engine
