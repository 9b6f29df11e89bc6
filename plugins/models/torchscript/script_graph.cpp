// Graph surgery on TorchScript modules: locate a submodule's call by inlining only the calls on
// the way to it, then cut the graph at the values wanted. Submodule calls stay prim::CallMethod
// nodes whose module is a prim::GetAttr chain from self, in scripted and traced modules alike.
#include "script_graph.hpp"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <optional>

namespace lepton::torchscript {

namespace tj = torch::jit;

namespace {

// The dotted path of the module `value` holds ("" for self), when it is self or a GetAttr chain from it.
std::optional<std::string> module_path(tj::Value* value, tj::Value* self) {
  if (value == self) return std::string();
  tj::Node* node = value->node();
  if (node->kind() != tj::prim::GetAttr) return std::nullopt;
  auto parent = module_path(node->input(0), self);
  if (!parent) return std::nullopt;
  const std::string& name = node->s(tj::attr::name);
  return parent->empty() ? name : *parent + "." + name;
}

// Whether the module at `prefix` contains the one at `path` (self contains everything).
bool contains(const std::string& prefix, const std::string& path) {
  return prefix.empty() ||
         (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '.');
}

enum class Step { kFound, kInlined, kNothing };

// One scan of the top-level block: the call when it is there, else inlines the first call on the
// way to it (its body may hold the call, or the next call on the way).
Step scan(tj::Graph& graph, const std::string& path, tj::Node** found) {
  tj::Value* self = graph.inputs().at(0);
  for (tj::Node* node : graph.block()->nodes()) {
    if (node->kind() != tj::prim::CallMethod) continue;
    const auto target = module_path(node->input(0), self);
    if (!target) continue;
    if (*target == path && node->s(tj::attr::name) == "forward") {
      *found = node;
      return Step::kFound;
    }
    if (!contains(*target, path)) continue;
    auto type = node->input(0)->type()->expect<c10::ClassType>();
    auto& callee = tj::toGraphFunction(type->getMethod(node->s(tj::attr::name)));
    tj::inlineCallTo(node, &callee, /*inline_optimized_graph=*/false);
    return Step::kInlined;
  }
  return Step::kNothing;
}

}  // namespace

std::shared_ptr<tj::Graph> forward_graph(const tj::Module& module) {
  return tj::toGraphFunction(module.get_method("forward").function()).graph()->copy();
}

tj::Node* find_submodule_call(tj::Graph& graph, const std::string& path) {
  tj::Node* found = nullptr;
  for (;;) {
    switch (scan(graph, path, &found)) {
      case Step::kFound: return found;
      case Step::kInlined: continue;
      case Step::kNothing: return nullptr;
    }
  }
}

std::shared_ptr<tj::GraphFunction> cut_graph(std::shared_ptr<tj::Graph> graph, const std::vector<tj::Value*>& outputs,
                                             const std::string& name) {
  while (!graph->outputs().empty()) graph->eraseOutput(0);
  if (outputs.size() == 1) {
    graph->registerOutput(outputs.front());
  } else {
    graph->registerOutput(graph->insertNode(graph->createTuple(outputs))->output());
  }
  tj::EliminateDeadCode(graph);
  return std::make_shared<tj::GraphFunction>(c10::QualifiedName("__torch__.lepton." + name), std::move(graph), nullptr);
}

}  // namespace lepton::torchscript
