// The train task on real data: deterministic per seed, whatever runs beside it; NaN losses fail the
// trial with a reason; objectives and metrics come from the held-out splits.
#include "plugins/registry.hpp"
#include "train/tasks/task.hpp"
#include "train/blas.hpp"
#include "train/trainer.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <thread>

using lepton::json;
using namespace lepton::engine;

namespace {

struct Fixture {
  Registry registry;
  lepton::DataSplits data;
  Experiment experiment = parse_experiment(lepton::test::small_experiment("trainer", 1, 5), {});
  TaskResources resources;
  Fixture() {
    registry.load_default();
    lepton::DatasetRequest request;
    request.config = {{"path", std::string(LEPTON_DATA_DIR) + "/breast_cancer.csv"},
                      {"standardize", true},
                      {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 7}}}};
    data = registry.dataset("csv").load(request);
  }
  TaskInput input(std::uint64_t seed, json model_params = {{"hidden", 32}, {"dropout", 0.2}}) const {
    TaskInput in;
    in.experiment = &experiment;
    in.data = &data;
    in.resources = &resources;
    in.model = &registry.model("mlp");
    in.model_name = "mlp";
    in.model_params = std::move(model_params);
    in.settings = {{"epochs", 5}, {"lr", 0.01}, {"batch_size", 32}};
    in.seed = seed;
    return in;
  }
  TrialResult run(std::uint64_t seed, json model_params = {{"hidden", 32}, {"dropout", 0.2}}) const {
    return run_task(input(seed, std::move(model_params))).result;
  }
};

// Everything but the measured latency, which is a timing.
std::map<std::string, double> deterministic(std::map<std::string, double> metrics) {
  metrics.erase("latency_ms");
  return metrics;
}

// A model whose output turns NaN, to exercise the finite-loss check.
class NanNetwork final : public lepton::Network {
 public:
  explicit NanNetwork(std::int64_t inputs) { linear_ = register_module("linear", torch::nn::Linear(inputs, 2)); }
  torch::Tensor features(const torch::Tensor& x) override { return x; }
  torch::Tensor head(const torch::Tensor& f) override { return linear_(f) * std::nan(""); }
  void replace_head(std::int64_t) override {}
  std::vector<torch::Tensor> head_parameters() override { return linear_->parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return {}; }

 private:
  torch::nn::Linear linear_{nullptr};
};
class NanModel final : public lepton::Model {
 public:
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& r) const override {
    return std::make_shared<NanNetwork>(r.shape.input.at(0));
  }
};

// A freshly built network of `model` for the fixture's data, its weights drawn from `seed`.
std::shared_ptr<lepton::Network> fresh(const Fixture& f, const std::string& model, std::uint64_t seed,
                                       json params = json::object()) {
  lepton::ModelRequest request;
  request.params = std::move(params);
  request.shape.input = f.data.input_shape;
  request.shape.classes = static_cast<std::int64_t>(f.data.class_names.size());
  return build_network(f.registry.model(model), model, request, seed);
}

torch::Tensor flat_weights(lepton::Network& net) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : net.parameters()) parts.push_back(p.detach().flatten().clone());
  return torch::cat(parts);
}

TrainSettings lbfgs_settings(double weight_decay) {
  TrainSettings s;
  s.epochs = 4;
  s.optimizer.kind = "lbfgs";
  s.optimizer.weight_decay = weight_decay;
  s.lbfgs_iterations = 50;
  return s;
}

}  // namespace

TEST_CASE("the csv plugin splits breast cancer stratified and standardizes on train only", "[trainer]") {
  Fixture f;
  CHECK(f.data.train.size() + f.data.valid.size() + f.data.test.size() == 569);
  CHECK(f.data.valid.size() == 114);
  CHECK(f.data.class_names == std::vector<std::string>{"malignant", "benign"});
  CHECK(f.data.input_shape == std::vector<std::int64_t>{30});
  // Stratified: the benign share (357/569) is kept in each split.
  for (const auto* split : {&f.data.train, &f.data.valid, &f.data.test})
    CHECK(split->y.to(torch::kDouble).mean().item<double>() == Approx(357.0 / 569).margin(0.01));
  CHECK(f.data.train.x.mean(0).abs().max().item<double>() < 1e-4);  // zero mean on train
  CHECK(f.data.valid.x.mean(0).abs().max().item<double>() > 1e-3);  // not refitted on valid
}

TEST_CASE("training is deterministic per seed, even beside another trial", "[trainer]") {
  Fixture f;
  const TrialResult alone = f.run(11);
  TrialResult first, second;
  std::thread other([&] { second = f.run(12); });
  first = f.run(11);
  other.join();
  CHECK(alone.state == lepton::TrialState::kComplete);
  CHECK(deterministic(first.metrics) == deterministic(alone.metrics));  // dropout and shuffling draw from the trial's own generator
  CHECK(deterministic(second.metrics) != deterministic(alone.metrics));
  CHECK(alone.metrics.at("parameter_count") == 30 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2);
  CHECK(alone.metrics.at("latency_ms") > 0);
  CHECK(alone.values.at(0) == alone.metrics.at("val_accuracy"));
  CHECK(alone.values.at(0) > 0.9);
  for (const char* m : {"val_accuracy", "val_precision", "val_recall", "val_f1", "val_roc_auc", "test_accuracy",
                        "test_precision", "test_recall", "test_f1", "test_roc_auc"}) {
    INFO(m);
    CHECK(alone.metrics.at(m) >= 0.0);
    CHECK(alone.metrics.at(m) <= 1.0);
  }
}

TEST_CASE("every epoch reports the objective's validation value", "[trainer]") {
  Fixture f;
  std::vector<std::pair<int, double>> reports;
  auto request = f.input(3);
  request.on_epoch = [&](int epoch, double value) {
    reports.emplace_back(epoch, value);
    return false;
  };
  const auto result = run_task(request).result;
  REQUIRE(reports.size() == 5);
  CHECK(reports.front().first == 1);
  CHECK(reports.back().first == 5);
  CHECK(reports.back().second == result.values.at(0));
}

TEST_CASE("a report that asks to stop ends the trial PRUNED at that epoch", "[trainer]") {
  Fixture f;
  auto request = f.input(3);
  int calls = 0;
  request.on_epoch = [&](int epoch, double) {
    ++calls;
    return epoch == 2;
  };
  const auto result = run_task(request).result;
  CHECK(calls == 2);
  CHECK(result.state == lepton::TrialState::kPruned);
  CHECK(result.attrs["pruned_at_epoch"] == 2);
  CHECK(result.values.empty());
  CHECK(result.metrics.count("val_accuracy") == 1);
}

TEST_CASE("a NaN loss fails the trial with the epoch, step and a hint", "[trainer]") {
  Fixture f;
  NanModel model;
  auto request = f.input(1, json::object());
  request.model = &model;
  CHECK_THROWS_WITH(run_task(request),
                    "loss became nan at epoch 1, step 1; lower the learning rate (lr = 0.01)");
}

TEST_CASE("a model that refuses its parameters fails the trial, tagged with the model", "[trainer]") {
  Fixture f;
  CHECK_THROWS_WITH(f.run(1, {{"layers", 40}}),
                    "model mlp: model.layers: expected an integer in [1, 16], got 40");
}

TEST_CASE("the cosine schedule starts at the full learning rate and halves it midway", "[trainer]") {
  Fixture f;
  // One full-batch step per epoch, plain SGD: a step moves the weights by lr * factor * gradient.
  auto updates = [&](const std::string& schedule) {
    lepton::TrialGeneratorScope random(5);
    auto net = fresh(f, "linear", 5);
    auto flat = [&] { return flat_weights(*net); };
    TrainSettings settings;
    settings.epochs = 2;
    settings.batch_size = f.data.train.size();
    settings.optimizer.kind = "sgd";
    settings.optimizer.momentum = 0;
    settings.optimizer.lr = 0.1;
    settings.cosine = schedule == "cosine";
    TrainingRun run(net, f.data.train, settings, all_parameters(*net));
    std::vector<torch::Tensor> snapshots{flat()};
    for (int epoch = 1; epoch <= 2; ++epoch) {
      run.train_epoch(epoch);
      snapshots.push_back(flat());
    }
    return std::vector<torch::Tensor>{snapshots[1] - snapshots[0], snapshots[2] - snapshots[1]};
  };
  const auto constant = updates("constant"), cosine = updates("cosine");
  // Step 1 of 2 at the full rate, step 2 at half a cosine period's midpoint: 0.5.
  CHECK(torch::allclose(cosine[0], constant[0], 1e-5, 1e-7));
  CHECK(torch::allclose(cosine[1], 0.5 * constant[1], 1e-4, 1e-7));
  CHECK(constant[1].abs().max().item<double>() > 1e-4);
}

TEST_CASE("lbfgs solves the L2-regularized convex loss: its gradient vanishes and the seed stops mattering",
          "[trainer][lbfgs]") {
  Fixture f;
  constexpr double kDecay = 1e-2;
  std::vector<torch::Tensor> solutions;
  for (std::uint64_t seed : {1, 2}) {
    lepton::TrialGeneratorScope random(seed);
    auto net = fresh(f, "linear", seed);
    const auto start = flat_weights(*net);
    TrainingRun run(net, f.data.train, lbfgs_settings(kDecay), all_parameters(*net));
    std::vector<double> losses;
    for (int epoch = 1; epoch <= 4; ++epoch) losses.push_back(run.train_epoch(epoch));
    for (std::size_t i = 1; i < losses.size(); ++i) CHECK(losses[i] <= losses[i - 1] + 1e-6);
    // The gradient of CE + decay/2 |w|^2 at the end, computed here independently of the trainer.
    for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
    auto objective = torch::nn::functional::cross_entropy(net->forward(f.data.train.x), f.data.train.y);
    for (const auto& p : net->parameters()) objective = objective + 0.5 * kDecay * p.pow(2).sum();
    objective.backward();
    for (const auto& p : net->parameters()) CHECK(p.grad().abs().max().item<double>() < 1e-3);
    CHECK(losses.back() == Approx(objective.item<double>()).epsilon(1e-4));
    solutions.push_back(flat_weights(*net));
    CHECK_FALSE(torch::allclose(start, solutions.back(), 1e-3, 1e-3));
  }
  // Different initial weights, one optimum.
  CHECK(torch::allclose(solutions[0], solutions[1], 1e-2, 2e-3));
}

TEST_CASE("lbfgs trains a group only from its first epoch on, and never a group at rate 0", "[trainer][lbfgs]") {
  Fixture f;
  lepton::TrialGeneratorScope random(3);
  auto net = fresh(f, "mlp", 3, {{"hidden", 8}});
  auto backbone_of = [](lepton::Network& n) {
    std::vector<torch::Tensor> out;
    for (const auto& layer : n.backbone_layers()) out.insert(out.end(), layer.begin(), layer.end());
    return out;
  };
  const auto head = net->head_parameters();
  const auto backbone = backbone_of(*net);
  auto copy = [](const std::vector<torch::Tensor>& ps) {
    std::vector<torch::Tensor> out;
    for (const auto& p : ps) out.push_back(p.detach().clone());
    return out;
  };
  auto changed = [](const std::vector<torch::Tensor>& ps, const std::vector<torch::Tensor>& before) {
    for (std::size_t i = 0; i < ps.size(); ++i)
      if (!torch::equal(ps[i].detach(), before[i])) return true;
    return false;
  };
  const auto head_start = copy(head), backbone_start = copy(backbone);
  TrainingRun run(net, f.data.train, lbfgs_settings(1e-3), {ParamGroup{head, 1.0, 1}, ParamGroup{backbone, 1.0, 3}});
  run.train_epoch(1);
  run.train_epoch(2);
  CHECK(changed(head, head_start));
  CHECK_FALSE(changed(backbone, backbone_start));
  run.train_epoch(3);
  CHECK(changed(backbone, backbone_start));

  auto frozen_net = fresh(f, "mlp", 3, {{"hidden", 8}});
  const auto frozen = backbone_of(*frozen_net);
  const auto frozen_start = copy(frozen);
  TrainingRun frozen_run(frozen_net, f.data.train, lbfgs_settings(1e-3),
                         {ParamGroup{frozen_net->head_parameters(), 1.0, 1}, ParamGroup{frozen, 0.0, 1}});
  frozen_run.train_epoch(1);
  CHECK_FALSE(changed(frozen, frozen_start));
}

TEST_CASE("lbfgs refuses mixup and names the fix, a NaN loss fails the trial with the evaluation", "[trainer][lbfgs]") {
  Fixture f;
  auto net = fresh(f, "linear", 1);
  TrainSettings settings = lbfgs_settings(0);
  settings.mixup = 0.4;
  CHECK_THROWS_WITH(TrainingRun(net, f.data.train, settings, all_parameters(*net)),
                    Catch::Contains("mixup") && Catch::Contains("set mixup to 0 or use a mini-batch optimizer"));
  NanModel model;
  auto request = f.input(1, json::object());
  request.model = &model;
  request.settings["optimizer"] = "lbfgs";
  CHECK_THROWS_WITH(run_task(request), "loss became nan at epoch 1, L-BFGS evaluation 1; raise weight_decay or "
                                       "standardize the inputs");
}

TEST_CASE("the BLAS behind LibTorch is found, and Debian's reference BLAS is told apart", "[trainer][blas]") {
  // LibTorch links a BLAS, so some library provides sgemm_ in this process.
  const std::string library = blas_library();
  INFO(library);
  CHECK_FALSE(library.empty());
  CHECK(is_reference_blas("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"));
  CHECK_FALSE(is_reference_blas("/usr/lib/x86_64-linux-gnu/openblas-serial/libblas.so.3"));
  CHECK_FALSE(is_reference_blas("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0"));
  CHECK_FALSE(is_reference_blas(""));
}
