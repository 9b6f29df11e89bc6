// Distillation: teacher outputs gathered once, soft targets per trial, an optional feature hint.
#include "train/tasks/distill.hpp"

#include "experiment/parameters.hpp"

#include <lepton/random.hpp>

#include <torch/torch.h>

namespace lepton::engine {

namespace {

// Teacher features kept in memory up to this size per layer; larger ones are recomputed per batch.
constexpr std::int64_t kFeatureCacheBytes = 256ll << 20;
constexpr std::int64_t kChunk = 2048;

// Maps a student layer's output onto a teacher layer's: image features (both {N, C, H, W}) through
// a 1x1 convolution after pooling both to their common spatial size; anything else flattened,
// through a linear map.
class ProjectionImpl : public torch::nn::Module {
 public:
  ProjectionImpl(c10::IntArrayRef student, c10::IntArrayRef teacher) {
    images_ = student.size() == 4 && teacher.size() == 4;
    if (images_) {
      height_ = std::min(student[2], teacher[2]);
      width_ = std::min(student[3], teacher[3]);
      conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(student[1], teacher[1], 1)));
    } else {
      linear_ = register_module("linear", torch::nn::Linear(flat_size(student), flat_size(teacher)));
    }
  }
  torch::Tensor forward(const torch::Tensor& student) { return images_ ? conv_(pool(student)) : linear_(student.flatten(1)); }
  // The teacher's features in the projection's output form.
  torch::Tensor target(const torch::Tensor& teacher) const { return images_ ? pool(teacher) : teacher.flatten(1); }

 private:
  static std::int64_t flat_size(c10::IntArrayRef shape) {
    std::int64_t n = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) n *= shape[i];
    return n;
  }
  torch::Tensor pool(const torch::Tensor& x) const {
    if (x.size(2) == height_ && x.size(3) == width_) return x;
    return torch::adaptive_avg_pool2d(x, {height_, width_});
  }
  bool images_ = false;
  std::int64_t height_ = 0, width_ = 0;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::Linear linear_{nullptr};
};
TORCH_MODULE(Projection);

class DistillationLoss final : public LossTerms {
 public:
  DistillationLoss(const Teacher& teacher, const at::Tensor& rows, Network& student, const at::Tensor& sample,
                   const DistillSettings& s, std::uint64_t seed)
      : teacher_(teacher), settings_(s) {
    teacher_log_probs_ = torch::log_softmax(teacher.pool_logits().index_select(0, rows) / s.temperature, 1);
    if (s.feature_weight <= 0) return;
    teacher_layer_ = resolve_layer(s.teacher_layer, teacher.layer_count(), "teacher_layer");
    std::vector<torch::Tensor> student_layers;
    {
      torch::NoGradGuard no_grad;
      const bool training = student.is_training();
      student.eval();  // batch norm cannot take one sample in training mode
      student_layers = student.layer_outputs(sample);
      student.train(training);
    }
    student_layer_ = resolve_layer(s.student_layer, student_layers.size(), "student_layer");
    const auto teacher_sample = teacher.features(sample, teacher_layer_);
    {
      const auto lock = seeded_construction(derive_seed(seed, 0x9e0));
      projection_ = Projection(student_layers[student_layer_].sizes(), teacher_sample.sizes());
    }
    const auto cached = teacher.pool_features(teacher_layer_);
    if (cached.defined()) {
      torch::NoGradGuard no_grad;
      teacher_features_ = projection_->target(cached.index_select(0, rows));
    }
  }

  void begin_epoch(const at::Tensor& order) override {
    epoch_log_probs_ = teacher_log_probs_.index_select(0, order);
    if (teacher_features_.defined()) epoch_features_ = teacher_features_.index_select(0, order);
  }

  at::Tensor loss(Network& net, const Batch& batch) override {
    const auto& x = batch.x;
    const auto begin = batch.begin, end = batch.end;
    const bool hint = settings_.feature_weight > 0;
    std::vector<torch::Tensor> layers;
    torch::Tensor logits;
    if (hint) {
      layers = net.layer_outputs(x);
      logits = net.head(layers.back());
    } else {
      logits = net.forward(x);
    }
    const double t = settings_.temperature, alpha = settings_.alpha;
    torch::Tensor total = torch::zeros({}, logits.options());
    if (alpha < 1) total = total + (1 - alpha) * label_loss(logits, batch);
    if (alpha > 0) {
      const auto teacher = batch.inputs_changed() ? torch::log_softmax(teacher_.logits(x) / t, 1) : epoch_log_probs_.slice(0, begin, end);
      // KL(teacher || student) summed over classes, averaged over the batch ("batchmean").
      const auto kl = at::kl_div(torch::log_softmax(logits / t, 1), teacher, at::Reduction::Sum, /*log_target=*/true) /
                      static_cast<double>(end - begin);
      total = total + alpha * t * t * kl;
    }
    if (hint) {
      torch::Tensor target;
      if (epoch_features_.defined() && !batch.inputs_changed()) {
        target = epoch_features_.slice(0, begin, end);
      } else {
        torch::NoGradGuard no_grad;
        target = projection_->target(teacher_.features(x, teacher_layer_));
      }
      total = total + settings_.feature_weight * torch::mse_loss(projection_->forward(layers[student_layer_]), target);
    }
    return total;
  }

  std::vector<at::Tensor> parameters() override { return projection_ ? projection_->parameters() : std::vector<at::Tensor>{}; }

 private:
  const Teacher& teacher_;
  DistillSettings settings_;
  at::Tensor teacher_log_probs_, epoch_log_probs_, teacher_features_, epoch_features_;
  std::size_t teacher_layer_ = 0, student_layer_ = 0;
  Projection projection_{nullptr};
};

}  // namespace

DistillSettings DistillSettings::read(const json& given) {
  auto value = [&](const std::string& name) { return task_setting(TaskType::kDistill, given, name); };
  DistillSettings s;
  s.temperature = value("temperature").get<double>();
  s.alpha = value("alpha").get<double>();
  s.feature_weight = value("feature_weight").get<double>();
  s.teacher_layer = value("teacher_layer").get<int>();
  s.student_layer = value("student_layer").get<int>();
  return s;
}

std::size_t resolve_layer(int layer, std::size_t count, const std::string& what) {
  const auto n = static_cast<std::int64_t>(count);
  const std::int64_t index = layer < 0 ? n + layer : layer;
  if (index < 0 || index >= n)
    throw TrialFailure(what + " " + std::to_string(layer) + " is out of range: the network has " + std::to_string(n) +
                       " backbone layer(s) (0.." + std::to_string(n - 1) + ", or -" + std::to_string(n) +
                       "..-1 from the end)");
  return static_cast<std::size_t>(index);
}

Teacher::Teacher(std::shared_ptr<Network> net, const DataSplits& data) : net_(std::move(net)) {
  torch::NoGradGuard no_grad;
  pool_x_ = torch::cat({data.train.x, data.valid.x});
  pool_logits_ = predict_logits(*net_, pool_x_);  // also puts the teacher in eval mode, for good
  layer_count_ = net_->layer_outputs(pool_x_.slice(0, 0, 1)).size();
  auto accuracy = [](const at::Tensor& logits, const at::Tensor& y) {
    return logits.argmax(1).eq(y).to(torch::kDouble).mean().item<double>();
  };
  summary_["val_accuracy"] = accuracy(pool_logits_.slice(0, data.train.size()), data.valid.y);
  if (data.test.size() > 0) summary_["test_accuracy"] = accuracy(predict_logits(*net_, data.test.x), data.test.y);
}

at::Tensor Teacher::pool_features(std::size_t layer) const {
  std::lock_guard lock(cache_mutex_);
  if (const auto it = feature_cache_.find(layer); it != feature_cache_.end()) return it->second;
  const auto one = features(pool_x_.slice(0, 0, 1), layer);
  at::Tensor all;
  if (one.numel() * pool_x_.size(0) * static_cast<std::int64_t>(sizeof(float)) <= kFeatureCacheBytes) {
    std::vector<at::Tensor> parts;
    for (std::int64_t begin = 0; begin < pool_x_.size(0); begin += kChunk)
      parts.push_back(features(pool_x_.slice(0, begin, std::min(begin + kChunk, pool_x_.size(0))), layer));
    all = torch::cat(parts);
  }
  feature_cache_[layer] = all;
  return all;
}

at::Tensor Teacher::logits(const at::Tensor& x) const {
  torch::NoGradGuard no_grad;
  return net_->forward(x);
}

at::Tensor Teacher::features(const at::Tensor& x, std::size_t layer) const {
  torch::NoGradGuard no_grad;
  return net_->layer_outputs(x).at(layer);
}

std::unique_ptr<LossTerms> make_distillation_loss(const Teacher& teacher, const at::Tensor& rows, Network& student,
                                                  const at::Tensor& sample, const DistillSettings& settings,
                                                  std::uint64_t seed) {
  return std::make_unique<DistillationLoss>(teacher, rows, student, sample, settings, seed);
}

}  // namespace lepton::engine
