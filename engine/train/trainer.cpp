// The training loop. Per epoch the training rows are gathered once in a fresh order, then each
// step takes a contiguous slice (a view, no copy); the optimizer updates all parameters with a few
// fused kernels. Every step checks that the loss is finite.
#include "train/trainer.hpp"

#include "experiment/parameters.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>
#include <sstream>

namespace lepton::engine {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

TrainSettings TrainSettings::read(const json& given, TaskType task_type) {
  auto value = [&](const std::string& name) { return task_setting(task_type, given, name); };
  TrainSettings s;
  s.epochs = value("epochs").get<int>();
  s.batch_size = value("batch_size").get<std::int64_t>();
  s.optimizer.kind = value("optimizer").get<std::string>();
  s.optimizer.lr = value("lr").get<double>();
  s.optimizer.weight_decay = value("weight_decay").get<double>();
  s.optimizer.momentum = value("momentum").get<double>();
  s.warmup_epochs = value("warmup_epochs").get<double>();
  s.cosine = value("lr_schedule").get<std::string>() == "cosine";
  s.mixup = value("mixup").get<double>();
  s.lbfgs_iterations = value("lbfgs_iterations").get<int>();
  s.augment.flip = value("augment_flip").get<bool>();
  s.augment.crop = value("augment_crop").get<int>();
  s.augment.shift = value("augment_shift").get<double>();
  s.augment.rotate = value("augment_rotate").get<double>();
  return s;
}

at::Tensor label_loss(const at::Tensor& logits, const Batch& batch) {
  const c10::optional<at::Tensor> weight = batch.class_weight.defined() ? c10::optional<at::Tensor>(batch.class_weight)
                                                                        : c10::nullopt;
  if (!batch.mixed()) return at::cross_entropy_loss(logits, batch.y, weight);
  const auto own = at::cross_entropy_loss(logits, batch.y, weight, at::Reduction::None);
  const auto partner = at::cross_entropy_loss(logits, batch.partner_y, weight, at::Reduction::None);
  return (batch.lambda * own + (1 - batch.lambda) * partner).mean();
}

namespace {

// Mixes each sample with a random partner of its batch (Zhang et al., mixup), the weights drawn
// from Beta(alpha, alpha) with the trial's generator.
void mix(Batch& batch, double alpha) {
  const auto n = batch.x.size(0);
  const auto generator = trial_generator();
  const auto partner = torch::randperm(n, generator, torch::kLong);
  const auto shape = torch::full({n}, alpha, batch.x.options());
  const auto a = at::_standard_gamma(shape, generator), b = at::_standard_gamma(shape, generator);
  batch.lambda = a / (a + b);
  std::vector<std::int64_t> weight_shape(static_cast<std::size_t>(batch.x.dim()), 1);
  weight_shape[0] = n;
  const auto weight = batch.lambda.view(weight_shape);
  batch.x = weight * batch.x + (1 - weight) * batch.x.index_select(0, partner);
  batch.partner_y = batch.y.index_select(0, partner);
}

}  // namespace

TrainingRun::TrainingRun(std::shared_ptr<Network> net, Split train, const TrainSettings& settings,
                         std::vector<ParamGroup> groups, std::unique_ptr<LossTerms> extra)
    : net_(std::move(net)), train_(std::move(train)), settings_(settings), extra_(std::move(extra)) {
  if (train_.size() == 0) throw TrialFailure("the training split is empty");
  std::set<const void*> trained;
  for (const auto& g : groups)
    for (const auto& p : g.params) trained.insert(p.unsafeGetTensorImpl());
  for (auto& p : net_->parameters())
    if (!trained.count(p.unsafeGetTensorImpl())) p.requires_grad_(false);
  if (extra_) {
    auto own = extra_->parameters();
    if (!own.empty()) groups.push_back(ParamGroup{std::move(own), 1.0, 1});
  }
  optimizer_ = std::make_unique<FlatOptimizer>(std::move(groups), settings_.optimizer);
  if (settings_.optimizer.kind == "lbfgs" && settings_.mixup > 0)
    throw TrialFailure("mixup draws new mixtures every step, but lbfgs minimizes one fixed full-batch loss; set mixup "
                       "to 0 or use a mini-batch optimizer (adam, adamw, sgd)");
  if (settings_.augment.any() && settings_.optimizer.kind == "lbfgs")
    throw TrialFailure(settings_.augment.names() + " draw new images every step, but lbfgs minimizes one fixed full-batch "
                       "loss; turn augmentation off or use a mini-batch optimizer (adam, adamw, sgd)");
  if (settings_.augment.any() && train_.x.dim() != 4)
    throw TrialFailure(settings_.augment.names() + " need image samples {channels, height, width}; these samples have " +
                       std::to_string(train_.x.dim() - 1) + " dimension(s) (give a csv dataset \"shape\", or turn "
                       "augmentation off)");
}

TrainingRun::~TrainingRun() = default;

double TrainingRun::lr_factor(double step, double warmup_steps, double steps_per_epoch) const {
  if (warmup_steps > 0 && step < warmup_steps) return step / warmup_steps;
  if (!settings_.cosine) return 1.0;
  // The half cosine runs from the first step after the warm-up (at full rate) to the run's last.
  const double total = static_cast<double>(settings_.epochs) * steps_per_epoch;
  const double progress = total > warmup_steps ? (step - 1 - std::floor(warmup_steps)) / (total - warmup_steps) : 1.0;
  return 0.5 * (1.0 + std::cos(kPi * std::clamp(progress, 0.0, 1.0)));
}

double TrainingRun::train_epoch(int epoch) {
  if (settings_.optimizer.kind == "lbfgs") return full_batch_epoch(epoch);
  net_->train();
  optimizer_->begin_epoch(epoch);
  const std::int64_t n = train_.size();
  const std::int64_t batch = settings_.batch_size;
  const std::int64_t steps_per_epoch = (n + batch - 1) / batch;
  const double warmup_steps = settings_.warmup_epochs * static_cast<double>(steps_per_epoch);
  const auto order = torch::randperm(n, trial_generator(), torch::kLong);
  const auto x = train_.x.index_select(0, order);
  const auto y = train_.y.index_select(0, order);
  if (extra_) extra_->begin_epoch(order);
  double loss_sum = 0;
  std::int64_t step = 0;
  for (std::int64_t begin = 0; begin < n; begin += batch, ++step) {
    const std::int64_t end = std::min(begin + batch, n);
    Batch b{x.slice(0, begin, end), y.slice(0, begin, end), begin, end, {}, {}, settings_.class_weight};
    // Raw pixels resample and mix as floats on their own 0..255 scale; the network scales them.
    if ((settings_.augment.any() || settings_.mixup > 0) && b.x.scalar_type() == torch::kByte) b.x = b.x.to(torch::kFloat32);
    if (settings_.augment.any()) {
      b.x = augment(b.x, settings_.augment, trial_generator());
      b.augmented = true;
    }
    if (settings_.mixup > 0) mix(b, settings_.mixup);
    optimizer_->zero_grad();
    const auto loss = extra_ ? extra_->loss(*net_, b) : label_loss(net_->forward(b.x), b);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      std::ostringstream why;
      why << "loss became " << value << " at epoch " << epoch << ", step " << step + 1
          << "; lower the learning rate (lr = " << settings_.optimizer.lr << ")";
      throw TrialFailure(why.str());
    }
    loss.backward();
    ++steps_;
    optimizer_->step(epoch, lr_factor(static_cast<double>(steps_), warmup_steps, static_cast<double>(steps_per_epoch)));
    loss_sum += value;
  }
  return loss_sum / static_cast<double>(step);
}

// L-BFGS on the full training split: the same loss as a mini-batch epoch (labels, class weights,
// distillation terms) over all rows at once, plus the L2 penalty of weight_decay. L-BFGS keeps its
// curvature pairs across epochs, so epochs continue one minimization; once it has converged they
// return at once. When a group starts training (fine-tuning's head_epochs), the pairs describe the
// smaller problem and would stall the new one, so L-BFGS starts afresh.
double TrainingRun::full_batch_epoch(int epoch) {
  if (!lbfgs_ || optimizer_->starts_group(epoch)) {
    // The strong Wolfe line search picks each step's length. scipy's defaults for the rest: 10
    // curvature pairs, and converged once no gradient entry exceeds 1e-5 (later epochs then return
    // at once: float32 losses rarely meet torch's 1e-7).
    lbfgs_ = std::make_unique<torch::optim::LBFGS>(optimizer_->trained_parameters(),
                                                   torch::optim::LBFGSOptions(1.0)
                                                       .max_iter(settings_.lbfgs_iterations)
                                                       .history_size(10)
                                                       .tolerance_grad(1e-5)
                                                       .line_search_fn("strong_wolfe"));
  }
  net_->train();
  optimizer_->begin_epoch(epoch);
  const std::int64_t n = train_.size();
  if (extra_) extra_->begin_epoch(torch::arange(n, torch::kLong));
  const Batch all{train_.x, train_.y, 0, n, {}, {}, settings_.class_weight};
  int evaluations = 0;
  double last = 0;
  auto closure = [&]() -> torch::Tensor {
    optimizer_->zero_grad();
    const auto loss = extra_ ? extra_->loss(*net_, all) : label_loss(net_->forward(all.x), all);
    loss.backward();
    const double value = loss.item<double>() + optimizer_->add_weight_decay(epoch);
    ++evaluations;
    if (!std::isfinite(value)) {
      std::ostringstream why;
      why << "loss became " << value << " at epoch " << epoch << ", L-BFGS evaluation " << evaluations
          << "; raise weight_decay or standardize the inputs";
      throw TrialFailure(why.str());
    }
    last = value;
    return torch::tensor(value, torch::kDouble);
  };
  lbfgs_->step(closure);
  return last;
}

std::vector<ParamGroup> all_parameters(Network& net) { return {ParamGroup{net.parameters(), 1.0, 1}}; }

at::Tensor predict_logits(Network& net, const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  net.eval();
  constexpr std::int64_t kChunk = 4096;
  std::vector<torch::Tensor> parts;
  for (std::int64_t begin = 0; begin < x.size(0); begin += kChunk)
    parts.push_back(net.forward(x.slice(0, begin, std::min(begin + kChunk, x.size(0)))));
  return parts.size() == 1 ? parts.front() : torch::cat(parts);
}

std::unique_lock<std::mutex> seeded_construction(std::uint64_t seed) {
  static std::mutex m;
  std::unique_lock lock(m);
  torch::manual_seed(seed);
  return lock;
}

std::shared_ptr<Network> build_network(const Model& model, const std::string& model_name, const ModelRequest& request,
                                       std::uint64_t seed) {
  std::shared_ptr<Network> net;
  try {
    const auto lock = seeded_construction(seed);
    net = model.build(request);
  } catch (const std::exception& e) {
    throw TrialFailure("model " + model_name + ": " + e.what());
  }
  if (!net) throw TrialFailure("model " + model_name + ": build() returned no network");
  return net;
}

}  // namespace lepton::engine
