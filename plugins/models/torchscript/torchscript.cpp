// The torchscript model plugin: trains a module saved from Python (torch.jit.script or
// torch.jit.trace) with Lepton's trainer. Each file is loaded and analysed once; every trial
// trains its own deep copy, from the file's weights ("init": "keep") or re-initialized from the
// trial's seed ("reset").
#include "script_network.hpp"
#include "script_template.hpp"

#include <lepton/lepton.hpp>

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <mutex>

namespace {

namespace fs = std::filesystem;
namespace ts = lepton::torchscript;
using lepton::ConfigError;

struct Settings {
  ts::ScriptOptions script;
  bool reset = false;
};

// A relative file is looked up in the request's search folders (the working directory the study
// started from, then the experiment's folder), like data files.
std::string resolve(const std::string& file, const std::vector<std::string>& dirs, const std::string& path) {
  if (file.empty())
    throw ConfigError(path, "name the TorchScript file to train, e.g. \"path\": \"models/resnet18.pt\" (written by "
                            "torch.jit.script(model).save(...) in Python)");
  try {
    return lepton::resolve_file(file, dirs, path, "TorchScript file");
  } catch (const ConfigError& e) {
    throw ConfigError(path, e.detail() + "; write it from Python with torch.jit.script(model).save(\"" + file + "\")");
  }
}

Settings read_settings(const lepton::ModelRequest& request) {
  lepton::ConfigObject params(request.params, request.path);
  Settings s;
  s.script.file = resolve(params.optional<std::string>("path", ""), request.search_dirs, params.path_of("path"));
  s.reset = params.one_of("init", {"keep", "reset"}, std::string("keep")) == "reset";
  s.script.head = params.optional<std::string>("head", "");
  s.script.feature_module = params.optional<std::string>("feature_module", "");
  params.finish();
  return s;
}

std::string shape_text(c10::IntArrayRef shape) { return lepton::json(shape.vec()).dump(); }

class TorchScriptModel final : public lepton::Model {
 public:
  // A head of another width than the class count is replaced by a fresh one: that is how a saved
  // fine-tuned network is rebuilt before its weights are loaded. check() refuses it before a study.
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& request) const override {
    const Settings s = read_settings(request);
    const auto source = script_template(s.script, request.path);
    torch::jit::Module copy;
    {
      // Cloned without autograd, then marked trainable again as the file had them.
      torch::NoGradGuard no_grad;
      copy = source->module().deepcopy();
    }
    const auto original = source->module().parameters();
    auto copied = copy.parameters();
    for (auto o = original.begin(), c = copied.begin(); o != original.end() && c != copied.end(); ++o, ++c)
      (*c).requires_grad_((*o).requires_grad());
    if (s.reset) ts::reset_parameters(copy);
    auto net = std::make_shared<ts::ScriptNetwork>(source, copy);
    if (net->classes() != request.shape.classes) net->replace_head(request.shape.classes);
    if (net->parameters().empty())
      throw ConfigError(request.path + ".path", fs::path(s.script.file).filename().string() +
                                                    " has no trainable parameters (none, or all requires_grad=False); "
                                                    "script an nn.Module whose layers are registered submodules");
    return net;
  }

  // The file against the data: its head's width, and two zero samples of the data's shape through
  // it in eval mode.
  void check(const lepton::ModelRequest& request) const override {
    const Settings s = read_settings(request);
    const std::string name = fs::path(s.script.file).filename().string();
    const auto source = script_template(s.script, request.path);
    const auto width = ts::find_module(source->module(), source->head())->attr("weight").toTensor().size(0);
    if (width != request.shape.classes)
      throw ConfigError(request.path + ".path", name + " outputs " + std::to_string(width) + " values per sample (its head \"" +
                                                    source->head() + "\"), but the data has " +
                                                    std::to_string(request.shape.classes) +
                                                    " classes; give the module a head with that many outputs before saving "
                                                    "it, or fine-tune a study of it (task finetune replaces the head)");
    auto net = std::static_pointer_cast<ts::ScriptNetwork>(build(request));
    std::vector<std::int64_t> batch{2};
    batch.insert(batch.end(), request.shape.input.begin(), request.shape.input.end());
    torch::NoGradGuard no_grad;
    net->eval();
    torch::Tensor features;
    try {
      features = net->features(torch::zeros(batch));
    } catch (const std::exception& e) {
      const std::string hint = source->input_hint();
      throw ConfigError(request.path + ".path",
                        name + " cannot take the data's samples of shape " + shape_text(request.shape.input) + " (a batch " +
                            shape_text(batch) + ")" + (hint.empty() ? "" : ": " + hint) + "; PyTorch says: " +
                            ts::torch_message(e) +
                            ". Adapt the module's input layer in Python, or reshape the data (the dataset's \"shape\")");
    }
    if (features.dim() != 2 || features.size(0) != 2)
      throw ConfigError(request.path + ".path", name + ": the head's input has shape " + shape_text(features.sizes()) +
                                                    " for a batch of 2; flatten it to {N, features} before the head");
  }

 private:
  std::shared_ptr<const ts::ScriptTemplate> script_template(const ts::ScriptOptions& options, const std::string& path) const {
    std::error_code ec;
    const auto stamp = fs::last_write_time(options.file, ec).time_since_epoch().count();
    const std::string key = options.file + "|" + std::to_string(stamp) + "|" + options.head + "|" + options.feature_module;
    std::lock_guard lock(mutex_);
    auto& entry = templates_[key];
    if (!entry) entry = std::make_shared<const ts::ScriptTemplate>(options, path);
    return entry;
  }

  // Loaded files, shared by every trial (build() runs on several threads at once).
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_ptr<const ts::ScriptTemplate>> templates_;
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_model(std::make_unique<TorchScriptModel>()); }
