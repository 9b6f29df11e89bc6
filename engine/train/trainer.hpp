// The training loop every task shares: one network, its train and valid rows, epoch by epoch.
#pragma once

#include "experiment/parameters.hpp"
#include "train/augment.hpp"
#include "train/optimizer.hpp"

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>
#include <lepton/model.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace torch::optim {
class LBFGS;
}  // namespace torch::optim

namespace lepton::engine {

/// A trial that cannot finish (NaN loss, a plugin error): recorded as FAIL with this message.
class TrialFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A trial's trainer settings, the task schema's defaults filled in.
struct TrainSettings {
  int epochs = 20;
  std::int64_t batch_size = 32;
  OptimizerSettings optimizer;
  double warmup_epochs = 0;  ///< linear learning-rate warm-up from 0, in epochs (fractions allowed)
  bool cosine = false;       ///< after the warm-up, decay the learning rate to 0 along a half cosine by the last epoch
  double mixup = 0;          ///< Beta(mixup, mixup) weights for mixing each sample with another; 0: off
  AugmentSettings augment;   ///< image augmentation of training batches
  int lbfgs_iterations = 20; ///< optimizer lbfgs: L-BFGS iterations per epoch, each on the whole training split
  at::Tensor class_weight;   ///< {classes} loss weight per class (`class_weight`, needs the data); undefined: none

  /// Reads the settings of `task_type` (see task_schema) from fixed and searched values.
  static TrainSettings read(const json& settings, TaskType task_type);
};

/// One training step's samples: rows [begin, end) of the epoch's order. With mixup, `x` holds the
/// mixtures lambda * x_i + (1 - lambda) * x_j of each sample i with a partner j of the batch.
struct Batch {
  at::Tensor x, y;
  std::int64_t begin = 0, end = 0;
  at::Tensor partner_y;  ///< the partners' labels; undefined without mixup
  at::Tensor lambda;     ///< {N} the samples' own weights; undefined without mixup
  at::Tensor class_weight;  ///< {classes} loss weight per class; undefined: all 1
  bool augmented = false;    ///< `x` was augmented: it is no longer the rows' own samples
  bool mixed() const { return lambda.defined(); }
  /// Whether `x` differs from rows [begin, end) as stored, so anything cached per row is stale.
  bool inputs_changed() const { return mixed() || augmented; }
};

/// Cross-entropy of `logits` against the batch's labels, weighted by class and as the samples were mixed.
at::Tensor label_loss(const at::Tensor& logits, const Batch& batch);

/// Loss terms beside (or instead of) cross-entropy on the labels: distillation plugs in here.
class LossTerms {
 public:
  virtual ~LossTerms() = default;
  /// Called before each epoch with the order in which the run visits its training rows.
  virtual void begin_epoch(const at::Tensor& order) = 0;
  /// The loss of a batch.
  virtual at::Tensor loss(Network& net, const Batch& batch) = 0;
  /// Trainable parameters of the loss itself (a learned projection), optimized with the network.
  virtual std::vector<at::Tensor> parameters() { return {}; }
};

/// One network trained on one training split. k-fold cross-validation drives k of them in
/// lockstep. Shuffling and dropout draw from the trial's generator (TrialGeneratorScope), so a run
/// is deterministic for a seed whatever runs beside it.
class TrainingRun {
 public:
  /// Trains the parameters of `groups` (plus those of `extra`); the network's other parameters are
  /// frozen. `train` is shared read-only.
  TrainingRun(std::shared_ptr<Network> net, Split train, const TrainSettings& settings, std::vector<ParamGroup> groups,
              std::unique_ptr<LossTerms> extra = nullptr);
  ~TrainingRun();

  /// One pass over the training rows in a fresh order; returns the mean loss. With optimizer
  /// lbfgs, `lbfgs_iterations` L-BFGS iterations on the whole split instead; returns the last loss
  /// (weight decay included). Throws TrialFailure when the loss stops being finite.
  double train_epoch(int epoch);

  const std::shared_ptr<Network>& network() const { return net_; }

 private:
  // The learning rate's multiplier at optimizer step `step` (from 1): the warm-up, then the schedule.
  double lr_factor(double step, double warmup_steps, double steps_per_epoch) const;
  double full_batch_epoch(int epoch);

  std::shared_ptr<Network> net_;
  Split train_;
  TrainSettings settings_;
  std::unique_ptr<LossTerms> extra_;
  std::unique_ptr<FlatOptimizer> optimizer_;
  std::unique_ptr<torch::optim::LBFGS> lbfgs_;  // optimizer lbfgs only, made by its first epoch; steps optimizer_'s parameters
  std::int64_t steps_ = 0;
};

/// Every parameter of `net` in one group: plain training.
std::vector<ParamGroup> all_parameters(Network& net);

/// Logits {N, classes} for a whole split, in chunks, in eval mode without gradients.
at::Tensor predict_logits(Network& net, const at::Tensor& x);

/// Serializes the construction of modules and seeds the process-wide generator their initial
/// weights come from; hold the returned lock while constructing, so the same seed gives the same
/// weights whatever runs beside it.
std::unique_lock<std::mutex> seeded_construction(std::uint64_t seed);

/// Builds a freshly initialized network. Initial weights come from `seed` (construction is
/// serialized, as it draws from the process-wide generator); failures become TrialFailure tagged
/// "model NAME: ...".
std::shared_ptr<Network> build_network(const Model& model, const std::string& model_name, const ModelRequest& request,
                                       std::uint64_t seed);

}  // namespace lepton::engine
