// Knowledge distillation: the teacher's outputs, computed once per study, and the student's loss.
#pragma once

#include "train/trainer.hpp"

#include <lepton/dataset.hpp>
#include <lepton/model.hpp>

#include <map>
#include <memory>
#include <mutex>

namespace lepton::engine {

/// A distill trial's settings (task schema defaults filled in).
struct DistillSettings {
  double temperature = 4;
  double alpha = 0.7;
  double feature_weight = 0;
  int teacher_layer = -1;
  int student_layer = -1;
  static DistillSettings read(const json& settings);
};

/// The teacher and its outputs on the study's training pool (train rows, then valid rows),
/// computed once when the study starts and shared read-only by every trial (and fold).
class Teacher {
 public:
  /// Runs `net` (eval mode, no gradients) over the data's train and valid splits.
  Teacher(std::shared_ptr<Network> net, const DataSplits& data);

  /// Logits {train + valid, classes}: row i of the pool is train row i, then valid rows follow.
  const at::Tensor& pool_logits() const { return pool_logits_; }
  /// How many backbone layers layer_outputs() gives.
  std::size_t layer_count() const { return layer_count_; }
  /// The output of backbone layer `layer` for all pool rows: computed on first use and kept when
  /// it fits the cache budget; undefined otherwise (then use features()).
  at::Tensor pool_features(std::size_t layer) const;
  /// The output of backbone layer `layer` for a batch, computed now.
  at::Tensor features(const at::Tensor& x, std::size_t layer) const;
  /// Logits for a batch, computed now (for inputs the pool does not hold, such as mixtures).
  at::Tensor logits(const at::Tensor& x) const;
  /// Accuracy on the valid and test splits, for the study's log.
  const json& summary() const { return summary_; }

 private:
  std::shared_ptr<Network> net_;
  at::Tensor pool_x_, pool_logits_;
  std::size_t layer_count_ = 0;
  json summary_;
  mutable std::mutex cache_mutex_;
  mutable std::map<std::size_t, at::Tensor> feature_cache_;
};

/// The student's loss for one training run, Hinton et al. (2015):
/// alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, y),
/// plus feature_weight * MSE(projection(student layer), teacher layer) when feature_weight > 0,
/// through a learned projection (linear, or 1x1 convolution for image features) trained with the
/// student. `rows` {N} are the pool rows of the run's training split, in its order. On mixed or
/// augmented batches the teacher is asked about those inputs themselves, batch by batch.
std::unique_ptr<LossTerms> make_distillation_loss(const Teacher& teacher, const at::Tensor& rows, Network& student,
                                                  const at::Tensor& sample, const DistillSettings& settings,
                                                  std::uint64_t seed);

/// `layer` (negative counts from the end) as an index into `count` layers; throws TrialFailure
/// naming `what` when it is out of range.
std::size_t resolve_layer(int layer, std::size_t count, const std::string& what);

}  // namespace lepton::engine
