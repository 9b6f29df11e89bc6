// The TorchScript export: a script module built in C++ around the trained network. The network
// itself comes from its plugin when the plugin can hand over a scripted module (torchscript does:
// its own code, control flow included); for every other plugin LibTorch's tracer records what
// forward() runs. Tracing is the one way that works for any plugin, first-party or third-party,
// since plugins write forward() in C++ with any LibTorch operation: hand-written TorchScript
// would need one translation per family and none for plugins we have not seen. What tracing
// cannot record (sizes read with size(), branches on values) shows as a mismatch at a second
// batch size, which refuses the export. The preprocessing is TorchScript source defined here,
// its fitted statistics buffers; the whole file is checked against the model after loading it back.
#include "artifacts/torchscript_export.hpp"

#include "train/checkpoint.hpp"
#include "train/preprocess.hpp"
#include "train/trainer.hpp"

#include <lepton/dataset.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <unistd.h>

#include <filesystem>
#include <limits>
#include <optional>

namespace lepton::engine {

namespace fs = std::filesystem;
namespace tj = torch::jit;

namespace {

constexpr const char* kFormat = "lepton-torchscript";
constexpr int kFormatVersion = 1;
constexpr std::int64_t kTraceRows = 2, kCheckRows = 7;
constexpr double kTolerance = 1e-4;  // a wrong trace is off by far more; float rounding by far less

// A script module holding the same tensors as `module` and its children, so that the tracer
// records reads of its parameters and buffers as attributes (named in Python's state_dict)
// rather than as constants.
tj::Module mirror(const torch::nn::Module& module, const std::shared_ptr<tj::CompilationUnit>& unit, int& counter) {
  tj::Module out(c10::QualifiedName("__torch__.lepton.Traced" + std::to_string(counter++)), unit);
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.register_parameter(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.register_buffer(b.key(), b.value());
  for (const auto& child : module.named_children()) out.register_module(child.key(), mirror(*child.value(), unit, counter));
  return out;
}

std::vector<std::int64_t> batch_shape(std::int64_t rows, const std::vector<std::int64_t>& sample) {
  std::vector<std::int64_t> shape{rows};
  shape.insert(shape.end(), sample.begin(), sample.end());
  return shape;
}

at::Tensor random_rows(std::int64_t rows, const std::vector<std::int64_t>& sample, std::uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(batch_shape(rows, sample), generator);
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  if (!a.sizes().equals(b.sizes())) return std::numeric_limits<double>::infinity();
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

tj::Module trace_network(Network& net, const std::vector<std::int64_t>& sample, const std::string& plugin) {
  auto unit = std::make_shared<tj::CompilationUnit>();
  int counter = 0;
  tj::Module module = mirror(net, unit, counter);
  torch::NoGradGuard no_grad;
  auto traced = tj::tracer::trace(
      {random_rows(kTraceRows, sample, 1)},
      [&](tj::Stack inputs) -> tj::Stack { return {net.forward(inputs.at(0).toTensor())}; },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false, /*force_outplace=*/false,
      &module);
  auto function = unit->create_function(c10::QualifiedName(*module.type()->name(), "forward"), traced.first->graph);
  module.type()->addMethod(function);
  const auto x = random_rows(kCheckRows, sample, 2);
  double difference = std::numeric_limits<double>::infinity();
  std::string failure;
  try {
    difference = max_difference(module.forward({x}).toTensor(), net.forward(x));
  } catch (const std::exception& e) {
    // The interpreter wraps the failing operation's error in a traceback: keep the error's own line.
    std::string what = e.what();
    if (const auto at = what.find("Error: "); at != std::string::npos) what = what.substr(at + 7);
    failure = ": " + what.substr(0, what.find('\n'));
  }
  if (!(difference <= kTolerance))
    throw ConfigError("--format", "model " + plugin + ": the traced network disagrees with the network on " +
                                      std::to_string(kCheckRows) + " rows after tracing on " + std::to_string(kTraceRows) +
                                      failure + "; its forward() depends on the batch size or on values (x.size(0) in a "
                                                "reshape, a branch), which tracing records as constants: use -1 or flatten(1) "
                                                "in reshapes, or override Network::script_module()");
  return module;
}

// Registers `tensor` as a buffer named `name` when it is defined; returns whether it did.
bool add_buffer(tj::Module& module, const std::string& name, const at::Tensor& tensor) {
  if (!tensor.defined()) return false;
  module.register_buffer(name, tensor.detach().clone().contiguous());
  return true;
}

// TorchScript source of preprocess(rows): the dataset's standardization, then the engine's steps
// in Preprocessor::apply()'s order (raw pixels, 0..255, first), reading the buffers registered here.
std::string preprocess_source(tj::Module& module, const std::optional<Standardization>& dataset, const Preprocessor& pre) {
  std::string s =
      "def preprocess(self, rows: Tensor) -> Tensor:\n"
      "    x = rows.float().reshape([-1] + self.input_shape)\n";
  if (dataset) {
    add_buffer(module, "data_mean", dataset->mean);
    add_buffer(module, "data_std", dataset->std);
    s += "    x = ((x.flatten(1) - self.data_mean) / self.data_std).reshape([-1] + self.input_shape)\n";
  }
  if (add_buffer(module, "pixel_mean", pre.pixel_mean)) {
    add_buffer(module, "pixel_std", pre.pixel_std);
    s += "    x = (x / 255.0 - self.pixel_mean) / self.pixel_std\n";
  }
  if (!pre.fits_features()) return s + "    return x\n";
  s += "    h = x.flatten(1)\n";
  if (!pre.onehot_columns.empty()) {
    const auto index = pre.onehot_index();
    add_buffer(module, "onehot_kept", index.kept);
    add_buffer(module, "onehot_coded", index.coded);
    add_buffer(module, "onehot_sizes", index.sizes);
    add_buffer(module, "onehot_offsets", index.offsets);
    const auto categories = std::to_string(index.width - index.kept.size(0));
    s += "    codes = h.index_select(1, self.onehot_coded).round().long()\n"
         "    known = (codes >= 0) & (codes < self.onehot_sizes)\n"
         "    slots = torch.where(known, codes, torch.zeros_like(codes)) + self.onehot_offsets\n"
         "    onehot = torch.zeros([h.size(0), " + categories + "], dtype=h.dtype).scatter_(1, slots, known.to(h.dtype))\n"
         "    h = torch.cat([h.index_select(1, self.onehot_kept), onehot], 1)\n";
  }
  if (add_buffer(module, "scale_shift", pre.shift)) {
    add_buffer(module, "scale_factor", pre.scale);
    s += "    h = (h - self.scale_shift) / self.scale_factor\n";
  }
  if (add_buffer(module, "pca_center", pre.center)) {
    add_buffer(module, "pca_components", pre.components);
    s += "    h = torch.matmul(h - self.pca_center, self.pca_components)\n";
  }
  if (pre.onehot_columns.empty() && !pre.components.defined()) s += "    h = h.reshape([-1] + self.input_shape)\n";
  return s + "    return h\n";
}

void write_atomically(tj::Module& module, const std::string& file) {
  const fs::path target = fs::absolute(file);
  if (!target.parent_path().empty()) fs::create_directories(target.parent_path());
  const fs::path temporary = target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  try {
    module.save(temporary.string());
    fs::rename(temporary, target);
  } catch (...) {
    std::error_code ec;
    fs::remove(temporary, ec);
    throw;
  }
}

}  // namespace

tj::Module script_network(Network& net, const std::vector<std::int64_t>& sample, const std::string& plugin, bool& traced) {
  traced = false;
  if (const auto scripted = net.script_module()) return *scripted;
  traced = true;
  return trace_network(net, sample, plugin);
}

TorchScriptExport export_torchscript(const std::string& folder, const Registry& registry, const std::string& file,
                                     const json& provenance, bool int8) {
  const ModelCard card = read_model_card(folder, "--trial");
  const auto net = load_model(folder, card, registry, "--trial");
  net->eval();
  const auto [inner, pre] = split_preprocessing(net);
  const std::vector<std::int64_t> inner_shape = pre.identity() ? card.input_shape : pre.output_shape();

  TorchScriptExport out;
  bool traced = false;
  tj::Module network = script_network(*inner, inner_shape, card.model_plugin, traced);
  out.network_source = traced ? "traced" : "scripted";
  if (int8) {
    out.quantized = quantize_linear_layers(network);
    if (out.quantized.linear == 0)
      throw ConfigError("--quantize", "model " + card.model_plugin + " has no linear layer with fixed weights to quantize (" +
                                          std::to_string(out.quantized.kept_float) + " convolution(s) stay float: PyTorch " +
                                          "quantizes those only statically); export it without --quantize");
  }

  std::optional<Standardization> standardization;
  if (card.dataset_fitted.contains("standardization"))
    standardization = Standardization::from_json(card.dataset_fitted["standardization"],
                                                 "model.json: dataset.fitted.standardization");
  json about = {{"format", kFormat},
                {"format_version", kFormatVersion},
                {"model", {{"plugin", card.model_plugin}, {"version", card.model_version}, {"params", card.model_params}}},
                {"network", out.network_source},
                {"input_shape", card.input_shape},
                {"class_names", card.class_names},
                {"feature_names", card.feature_names},
                // What `lepton predict` needs to read data files for the file: the plugin's fitted state too.
                {"dataset", {{"plugin", card.dataset_plugin}, {"config", card.dataset_config}, {"fitted", card.dataset_fitted},
                             {"subset_classes", card.subset_classes}}},
                {"preprocess", card.preprocess},
                {"provenance", provenance}};
  if (int8) about["quantized"] = {{"dtype", "int8"}, {"linear_layers", out.quantized.linear}, {"float_layers", out.quantized.kept_float}};

  tj::Module model(c10::QualifiedName("__torch__.lepton.Model"), std::make_shared<tj::CompilationUnit>());
  model.register_module("network", network);
  model.register_attribute("class_names", c10::ListType::ofStrings(), c10::List<std::string>(card.class_names));
  model.register_attribute("feature_names", c10::ListType::ofStrings(), c10::List<std::string>(card.feature_names));
  model.register_attribute("input_shape", c10::ListType::ofInts(), c10::List<std::int64_t>(card.input_shape));
  model.register_attribute("lepton", c10::StringType::get(), about.dump());
  model.define(preprocess_source(model, standardization, pre) +
               "def logits(self, rows: Tensor) -> Tensor:\n"
               "    return self.network.forward(self.preprocess(rows))\n"
               "def forward(self, rows: Tensor) -> Tensor:\n"
               "    return torch.softmax(self.logits(rows), 1)\n");
  model.eval();
  write_atomically(model, file);

  // The file as Python will see it, against the model as `lepton predict` runs it.
  tj::Module loaded = tj::load(file);
  torch::NoGradGuard no_grad;
  auto rows = random_rows(kCheckRows, card.input_shape, 3);
  const auto expected = torch::softmax(predict_logits(*net, standardization ? standardization->apply(rows) : rows).to(torch::kFloat64), 1);
  const auto reloaded = loaded.forward({rows}).toTensor();
  out.max_difference = max_difference(reloaded, expected);
  out.bytes = fs::file_size(file);
  if (int8) {
    if (!reloaded.sizes().equals(expected.sizes()) || !torch::isfinite(reloaded).all().item<bool>()) {
      std::error_code ec;
      fs::remove(file, ec);
      throw ConfigError("--quantize", "the int8 file gives no finite probabilities of shape " +
                                          json(expected.sizes().vec()).dump() + " on random rows; nothing was written");
    }
    return out;
  }
  if (!(out.max_difference <= kTolerance)) {
    std::error_code ec;
    fs::remove(file, ec);
    throw ConfigError("--format", "the exported file's probabilities differ from the model's by " +
                                      std::to_string(out.max_difference) + " on random rows; nothing was written");
  }
  return out;
}

}  // namespace lepton::engine
