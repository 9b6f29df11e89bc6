// Model checks: builds for input shapes, output shape, a loss that training lowers, parameter groups.
#include "conformance/check_list.hpp"

#include <torch/torch.h>

#include <set>

namespace lepton::engine::conformance {

namespace {

constexpr std::int64_t kBatch = 6;
constexpr std::uint64_t kSeed = 7;

std::vector<std::int64_t> batch_shape(const std::vector<std::int64_t>& input) {
  std::vector<std::int64_t> shape{kBatch};
  shape.insert(shape.end(), input.begin(), input.end());
  return shape;
}

// Builds networks as the trainer does: initial weights from a seeded process-wide generator.
struct Builder {
  const Model& model;
  std::vector<std::string> file_dirs;  // where relative files named in the parameters are looked up

  std::shared_ptr<Network> operator()(const json& params, const std::vector<std::int64_t>& input, std::int64_t classes,
                                      std::uint64_t seed = kSeed) const {
    ModelRequest request;
    request.params = params;
    request.search_dirs = file_dirs;
    request.shape.input = input;
    request.shape.classes = classes;
    torch::manual_seed(seed);
    auto net = model.build(request);
    expect(net != nullptr, "build() returned no network for input " + shape_text(input));
    return net;
  }
};

std::set<const void*> identities(const std::vector<torch::Tensor>& tensors) {
  std::set<const void*> out;
  for (const auto& t : tensors) out.insert(t.unsafeGetTensorImpl());
  return out;
}

bool same_parameters(Network& a, Network& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  if (pa.size() != pb.size()) return false;
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (!pa[i].sizes().equals(pb[i].sizes()) || !torch::equal(pa[i], pb[i])) return false;
  return true;
}

}  // namespace

std::vector<CheckResult> check_model(const Model& model, const PluginRecord& record, const json& settings,
                                     const std::vector<std::string>& data_dirs) {
  const Builder build{model, data_dirs};
  ConfigObject cfg(settings, "conformance");
  const json params = cfg.optional<json>("params", json::object());
  std::vector<std::vector<std::int64_t>> shapes{{12}, {1, 8, 8}};
  if (cfg.has("input_shapes")) shapes = cfg.raw("input_shapes").get<std::vector<std::vector<std::int64_t>>>();
  expect(!shapes.empty(), "conformance.input_shapes: expected at least one shape");
  cfg.finish();
  TrialGeneratorScope trial_random(kSeed);

  CheckList list;
  const bool builds = list.run("builds for input shapes", [&] {
    std::string note;
    for (const auto& input : shapes)
      for (std::int64_t classes : {2, 5}) build(params, input, classes);
    for (const auto& input : shapes) note += (note.empty() ? "" : ", ") + shape_text(input);
    return note + " with 2 and 5 classes, params " + params.dump();
  });
  if (!builds) {
    list.skip({"output shape", "features and head compose", "training step lowers the loss", "parameter groups present",
               "replace_head", "deterministic for a seed", "manifest defaults accepted", "rejects unknown parameters"},
              "the model does not build");
    return list.take();
  }
  list.run("output shape", [&] {
    for (const auto& input : shapes)
      for (std::int64_t classes : {2, 5}) {
        auto net = build(params, input, classes);
        net->eval();
        const auto out = net->forward(torch::randn(batch_shape(input)));
        const std::vector<std::int64_t> expected{kBatch, classes};
        expect(out.sizes().vec() == expected, "input " + shape_text(batch_shape(input)) + " gave logits " +
                                                  shape_text(out.sizes().vec()) + ", expected " + shape_text(expected));
        expect(torch::isfinite(out).all().item<bool>(), "input " + shape_text(batch_shape(input)) + " gave non-finite logits");
      }
    return "logits {N, classes} for every shape";
  });
  list.run("features and head compose", [&] {
    auto net = build(params, shapes.front(), 3);
    net->eval();
    torch::NoGradGuard no_grad;
    const auto x = torch::randn(batch_shape(shapes.front()));
    const auto features = net->features(x);
    expect(features.dim() == 2 && features.size(0) == kBatch,
           "features() gave " + shape_text(features.sizes().vec()) + ", expected {N, F}");
    expect(torch::allclose(net->head(features), net->forward(x), 1e-5, 1e-6),
           "head(features(x)) differs from forward(x)");
    return "features " + shape_text(features.sizes().vec()) + ", head(features(x)) == forward(x)";
  });
  list.run("training step lowers the loss", [&] {
    auto net = build(params, shapes.front(), 3);
    torch::manual_seed(kSeed);
    const auto x = torch::randn(batch_shape(shapes.front())).repeat_interleave(4, 0);
    const auto y = torch::arange(x.size(0)) % 3;
    auto eval_loss = [&] {
      torch::NoGradGuard no_grad;
      net->eval();
      return torch::nn::functional::cross_entropy(net->forward(x), y).item<double>();
    };
    const double before = eval_loss();
    torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < 30; ++step) {
      net->train();
      optimizer.zero_grad();
      const auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      expect(loss.requires_grad(), "the loss does not depend on any trainable parameter");
      loss.backward();
      optimizer.step();
    }
    const double after = eval_loss();
    expect(after < before, "30 Adam steps (lr 0.01) on one batch moved the loss from " + std::to_string(before) + " to " +
                               std::to_string(after) + "; gradients do not reach the parameters");
    return "loss " + std::to_string(before) + " -> " + std::to_string(after) + " after 30 Adam steps";
  });
  list.run("parameter groups present", [&] {
    auto net = build(params, shapes.front(), 3);
    const auto head = identities(net->head_parameters());
    expect(!head.empty(), "head_parameters() is empty: fine-tuning cannot replace or train the head");
    const auto layers = net->backbone_layers();
    // An empty backbone is allowed: a model without one (linear, a fixed kernel map) fine-tunes its head.
    std::set<const void*> backbone;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      expect(!layers[i].empty(), "backbone layer " + std::to_string(i) + " has no parameters");
      for (const auto& p : layers[i]) {
        expect(!head.count(p.unsafeGetTensorImpl()), "a parameter of backbone layer " + std::to_string(i) + " is also in the head");
        backbone.insert(p.unsafeGetTensorImpl());
      }
    }
    std::vector<std::string> missing;
    for (const auto& item : net->named_parameters())
      if (!head.count(item.value().unsafeGetTensorImpl()) && !backbone.count(item.value().unsafeGetTensorImpl()))
        missing.push_back(item.key());
    if (!missing.empty()) {
      std::string list_text;
      for (const auto& m : missing) list_text += (list_text.empty() ? "" : ", ") + m;
      throw CheckFailure("parameters in neither the head nor a backbone layer (fine-tuning would miss them): " + list_text);
    }
    return std::to_string(layers.size()) + " backbone layer(s) and the head cover all " +
           std::to_string(net->parameters().size()) + " parameter tensors";
  });
  list.run("replace_head", [&] {
    auto net = build(params, shapes.front(), 3);
    const auto old_head = identities(net->head_parameters());
    net->replace_head(7);
    net->eval();
    const auto out = net->forward(torch::randn(batch_shape(shapes.front())));
    expect(out.size(1) == 7, "after replace_head(7) the logits are " + shape_text(out.sizes().vec()));
    for (const auto* p : identities(net->head_parameters()))
      expect(!old_head.count(p), "replace_head() kept the old head's parameters");
    return "7 classes after replace_head(7), with new head parameters";
  });
  list.run("deterministic for a seed", [&] {
    auto a = build(params, shapes.front(), 3, 11);
    auto b = build(params, shapes.front(), 3, 11);
    expect(same_parameters(*a, *b), "two builds after torch::manual_seed(11) have different initial weights; "
                                    "initialize from the process-wide generator only (no random_device, no time)");
    a->eval();
    b->eval();
    const auto x = torch::randn(batch_shape(shapes.front()));
    expect(torch::equal(a->forward(x), b->forward(x)), "in eval mode the same weights and input gave different logits");
    return "same seed, same weights and logits";
  });
  list.run("manifest defaults accepted", [&] {
    // Under the settings' own parameters (a file a model cannot build without, say).
    json defaults = json::object();
    for (const auto& rule : record.parameters.rules())
      if (!rule.default_value.is_null()) defaults[rule.name] = rule.default_value;
    defaults.update(params);
    build(defaults, shapes.front(), 3);
    return defaults.dump();
  });
  list.run("rejects unknown parameters", [&] {
    json bad = params;
    bad["no_such_parameter"] = 1;
    return expect_config_error([&] { build(bad, shapes.front(), 3); }, "model.no_such_parameter");
  });
  return list.take();
}

}  // namespace lepton::engine::conformance
