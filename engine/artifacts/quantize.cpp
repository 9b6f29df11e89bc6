// The rewrite: find each aten::linear whose weight comes from a chain of GetAttr on the graph's
// module, pack that weight as int8 into an attribute of the module, call linear_dynamic on it,
// then drop the float weight once nothing reads it.
#include "artifacts/quantize.hpp"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/torch.h>

#include <deque>
#include <map>
#include <optional>

namespace lepton::engine {

namespace tj = torch::jit;

namespace {

// The module and attribute a GetAttr chain ending in `value` reads, from the graph's `self`.
struct Attribute {
  tj::Module owner;
  std::string name;
};

std::optional<Attribute> read_attribute(const tj::Module& self, tj::Value* value, tj::Value* graph_self) {
  std::deque<std::string> path;
  while (value->node()->kind() == c10::prim::GetAttr) {
    path.push_front(value->node()->s(c10::attr::name));
    value = value->node()->input(0);
  }
  if (value != graph_self || path.empty()) return std::nullopt;
  tj::Module owner = self;
  for (std::size_t i = 0; i + 1 < path.size(); ++i) {
    const auto child = owner.attr(path[i]);
    if (!child.isObject()) return std::nullopt;
    owner = tj::Module(child.toObject());
  }
  return Attribute{owner, path.back()};
}

// int8 weights, one symmetric scale for the layer, packed with the bias for the current engine.
c10::IValue pack(const at::Tensor& weight, const c10::IValue& bias) {
  const auto w = weight.detach().to(torch::kFloat32).contiguous();
  const double scale = std::max(w.abs().max().item<double>(), 1e-8) / 127.5;
  const auto q = at::quantize_per_tensor(w, scale, 0, at::kQInt8);
  static const auto prepack = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  torch::jit::Stack stack{q, bias.isTensor() ? c10::IValue(bias.toTensor().detach().contiguous()) : c10::IValue()};
  prepack.callBoxed(&stack);
  return stack.at(0);
}

bool is(const tj::Node* node, const char* kind) { return node->kind() == c10::Symbol::fromQualString(kind); }

bool is_one(tj::Value* value) {
  const auto constant = tj::toIValue(value);
  return constant && ((constant->isInt() && constant->toInt() == 1) || (constant->isDouble() && constant->toDouble() == 1.0));
}

// A linear layer as the graph spells it: aten::linear(x, W, b) when scripted; traced, as
// aten::addmm(b, x, aten::t(W), 1, 1), or aten::matmul / aten::mm(x, aten::t(W)) with any bias
// added by a later node, which stays.
struct LinearUse {
  tj::Node* node = nullptr;
  tj::Value* input = nullptr;
  tj::Value* weight = nullptr;  // the {out, in} weight read from the module
  tj::Value* bias = nullptr;    // nullptr: none
};

std::optional<LinearUse> linear_use(tj::Node* node) {
  auto transposed = [](tj::Value* v) -> tj::Value* { return is(v->node(), "aten::t") ? v->node()->input(0) : nullptr; };
  if (is(node, "aten::linear")) {
    tj::Value* bias = node->input(2)->type()->kind() == c10::TypeKind::NoneType ? nullptr : node->input(2);
    return LinearUse{node, node->input(0), node->input(1), bias};
  }
  if (is(node, "aten::addmm") && is_one(node->input(3)) && is_one(node->input(4)))
    if (tj::Value* w = transposed(node->input(2))) return LinearUse{node, node->input(1), w, node->input(0)};
  if (is(node, "aten::matmul") || is(node, "aten::mm"))
    if (tj::Value* w = transposed(node->input(1))) return LinearUse{node, node->input(0), w, nullptr};
  return std::nullopt;
}

// Rewrites the forward of one module (its own graph: a traced network holds every call inlined).
void rewrite(tj::Module& module, QuantizedLayers& count, int& packed) {
  if (!module.find_method("forward")) return;
  const auto graph = module.get_method("forward").graph();
  tj::Value* self = graph->inputs().at(0);
  std::vector<LinearUse> linears;
  for (auto* node : graph->nodes()) {
    if (auto use = linear_use(node)) linears.push_back(*use);
    else if (is(node, "aten::_convolution") || is(node, "aten::conv2d") || is(node, "aten::conv1d") || is(node, "aten::conv3d"))
      ++count.kept_float;
  }
  std::map<std::pair<const void*, std::string>, Attribute> read;  // float weights the rewrite replaced
  for (const auto& use : linears) {
    tj::Node* node = use.node;
    const auto weight = read_attribute(module, use.weight, self);
    if (!weight || !weight->owner.attr(weight->name).isTensor() || weight->owner.attr(weight->name).toTensor().dim() != 2) {
      ++count.kept_float;  // a weight computed in forward(): nothing fixed to quantize
      continue;
    }
    c10::IValue bias;
    if (use.bias) {
      const auto b = read_attribute(module, use.bias, self);
      if (!b || !b->owner.attr(b->name).isTensor() || b->owner.attr(b->name).toTensor().dim() != 1) {
        ++count.kept_float;
        continue;
      }
      bias = b->owner.attr(b->name);
    }
    const c10::IValue packed_weight = pack(weight->owner.attr(weight->name).toTensor(), bias);
    const std::string name = "_int8_linear_" + std::to_string(packed++);
    module.register_attribute(name, packed_weight.type(), packed_weight);
    tj::WithInsertPoint insert(node);
    tj::Value* packed_value = graph->insertGetAttr(self, name);
    packed_value->setType(packed_weight.type());
    tj::Value* out = graph->insert(c10::Symbol::fromQualString("quantized::linear_dynamic"), {use.input, packed_value, false});
    out->setType(node->output()->type());
    node->output()->replaceAllUsesWith(out);
    node->destroy();
    read[{weight->owner._ivalue().get(), weight->name}] = *weight;
    ++count.linear;
  }
  tj::EliminateDeadCode(graph);
  // A float weight nothing reads any more leaves the module, so the file holds only the int8 copy.
  for (auto& [key, attribute] : read) {
    bool still_read = false;
    for (auto* node : graph->nodes())
      if (node->kind() == c10::prim::GetAttr && node->s(c10::attr::name) == attribute.name)
        if (const auto other = read_attribute(module, node->output(), self); other && other->owner._ivalue().get() == key.first)
          still_read = true;
    if (still_read) continue;
    attribute.owner._ivalue()->unsafeRemoveAttr(attribute.name);
    attribute.owner.type()->unsafeRemoveAttribute(attribute.name);
  }
}

}  // namespace

QuantizedLayers quantize_linear_layers(tj::Module& network) {
  QuantizedLayers count;
  int packed = 0;
  rewrite(network, count, packed);
  for (auto child : network.modules())
    if (child._ivalue() != network._ivalue()) rewrite(child, count, packed);
  return count;
}

}  // namespace lepton::engine
