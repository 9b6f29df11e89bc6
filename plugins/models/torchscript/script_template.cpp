// Loading a TorchScript file and finding its head: the submodule named by "head", else the last
// Linear; the features are what forward passes to it, so forward must return the head's output.
#include "script_template.hpp"

#include <lepton/config.hpp>

#include <torch/script.h>

#include <cctype>
#include <filesystem>
#include <set>

namespace lepton::torchscript {

namespace tj = torch::jit;

namespace {

std::string child_names(const tj::Module& module) {
  std::string out;
  for (const auto& child : module.named_children()) out += (out.empty() ? "" : ", ") + child.name;
  return out.empty() ? "none" : out;
}

tj::Module load(const std::string& file, const std::string& path) {
  try {
    return tj::load(file);
  } catch (const std::exception& e) {
    throw ConfigError(path, file + " is not a TorchScript file (" + torch_message(e) +
                                "); save the model from Python with torch.jit.script(model).save(\"" +
                                std::filesystem::path(file).filename().string() +
                                "\") or torch.jit.trace(model, example).save(...): torch.save() writes pickles "
                                "that only Python can run");
  }
}

std::string last_linear(const tj::Module& module) {
  std::string found;
  for (const auto& item : module.named_modules())
    if (!item.name.empty() && module_kind(item.value) == "Linear") found = item.name;
  return found;
}

}  // namespace

std::string torch_message(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string text = c10_error ? c10_error->what_without_backtrace() : error.what();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text.substr(text.rfind('\n') + 1);
}

std::string module_kind(const tj::Module& module) {
  const auto name = module.type()->name();
  return name ? name->name() : std::string();
}

c10::optional<tj::Module> find_module(const tj::Module& module, const std::string& path) {
  tj::Module current = module;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    const std::size_t end = std::min(path.find('.', begin), path.size());
    const std::string name = path.substr(begin, end - begin);
    if (name.empty() || !current.hasattr(name)) return c10::nullopt;
    const auto value = current.attr(name);
    if (!value.isModule()) return c10::nullopt;
    current = value.toModule();
    begin = end + 1;
  }
  return current;
}

ScriptTemplate::ScriptTemplate(const ScriptOptions& options, const std::string& path)
    : module_(load(options.file, path + ".path")), file_(options.file), head_(options.head) {
  const std::string name = std::filesystem::path(file_).filename().string();
  if (head_.empty()) {
    head_ = last_linear(module_);
    if (head_.empty())
      throw ConfigError(path + ".head", name + " has no Linear layer to use as the head; name the submodule that "
                                                "computes the logits with \"head\" (its submodules: " +
                                                child_names(module_) + ")");
  }
  const auto head = find_module(module_, head_);
  if (!head)
    throw ConfigError(path + ".head", name + " has no submodule \"" + head_ + "\" (its submodules: " +
                                          child_names(module_) + ")");
  if (!head->hasattr("weight") || !head->attr("weight").isTensor() || head->attr("weight").toTensor().dim() != 2) {
    const std::string inner = last_linear(*head);
    throw ConfigError(path + ".head", "the head \"" + head_ + "\" of " + name + " is a " + module_kind(*head) +
                                          ", not a Linear; name the Linear that computes the logits" +
                                          (inner.empty() ? "" : ", e.g. \"" + head_ + "." + inner + "\""));
  }

  // The features: the head's input, in a graph that stops there.
  auto graph = forward_graph(module_);
  tj::Node* call = find_submodule_call(*graph, head_);
  if (!call || call->inputs().size() != 2)
    throw ConfigError(path + ".head", "forward() of " + name + " does not call the head \"" + head_ +
                                          "\" once with one input outside branches and loops, so Lepton cannot tell "
                                          "its features; name the Linear that computes the logits");
  if (graph->outputs().size() != 1 || graph->outputs()[0] != call->output())
    throw ConfigError(path + ".head", "forward() of " + name + " does not return the output of its head \"" + head_ +
                                          "\" as it is (a softmax or reshape after it?); Lepton trains on logits, so "
                                          "return the head's output and apply softmax outside the module");
  features_ = cut_graph(graph, {call->input(1)}, "features");

  if (!options.feature_module.empty()) {
    if (!find_module(module_, options.feature_module))
      throw ConfigError(path + ".feature_module", name + " has no submodule \"" + options.feature_module +
                                                      "\" (its submodules: " + child_names(module_) + ")");
    // The head first: finding the feature module then inlines only calls that hold it, never the head's.
    auto both = forward_graph(module_);
    tj::Node* head_call = find_submodule_call(*both, head_);
    tj::Node* inner = find_submodule_call(*both, options.feature_module);
    if (!inner)
      throw ConfigError(path + ".feature_module", "forward() of " + name + " does not call \"" + options.feature_module +
                                                      "\" outside branches and loops, or it holds the head; name a submodule the head comes after");
    layers_ = cut_graph(both, {inner->output(), head_call->input(1)}, "layers");
  }
}

std::string ScriptTemplate::input_hint() const {
  for (const auto& item : module_.named_modules()) {
    const std::string kind = module_kind(item.value);
    if (!item.value.hasattr("weight") || !item.value.attr("weight").isTensor()) continue;
    const auto weight = item.value.attr("weight").toTensor();
    const std::string layer = "its first layer " + item.name + " (" + kind + ")";
    if (kind.rfind("Conv", 0) == 0 && item.value.hasattr("in_channels"))
      return layer + " takes " + std::to_string(item.value.attr("in_channels").toInt()) + " input channels";
    if (kind == "Linear") return layer + " takes " + std::to_string(weight.size(1)) + " input features";
    return layer + " has weights of shape " + c10::str(weight.sizes());
  }
  return "";
}

}  // namespace lepton::torchscript
