// One trial of a study's task: its runs (one, or one per fold in lockstep), per-epoch reports, and
// the final scores. What the task prepares once for all trials is prepare/task_sources.cpp's.
#include "train/tasks/task.hpp"

#include "data/folds.hpp"
#include "train/class_weights.hpp"
#include "train/metrics.hpp"
#include "train/model_stats.hpp"
#include "train/preprocess.hpp"
#include "train/tasks/distill.hpp"
#include "train/tasks/finetune.hpp"
#include "train/tasks/frozen_backbone.hpp"

#include <lepton/random.hpp>

#include <torch/torch.h>

#include <cmath>
#include <map>

namespace lepton::engine {

namespace {

using Metrics = std::map<std::string, double>;

// Each metric's mean over the runs (the folds).
Metrics mean_metrics(const std::vector<Metrics>& all) {
  Metrics mean;
  for (const auto& m : all)
    for (const auto& [name, value] : m) mean[name] += value / static_cast<double>(all.size());
  return mean;
}

json metrics_json(Metrics m, double train_loss) {
  m["train_loss"] = train_loss;
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? json(v) : json(nullptr);
  return j;
}

// One network, its training run and the split it is scored on after every epoch.
struct Run {
  std::unique_ptr<TrainingRun> training;
  Split valid;
  double train_loss = 0;
  Metrics valid_metrics;  ///< "val_<metric>": the built-in metrics and the experiment's metric plugins'
};

// Makes the training runs of one trial the way its task type wants them.
class RunFactory {
 public:
  RunFactory(const TaskInput& in, const TrainSettings& settings) : in_(in), settings_(settings) {
    const TaskType type = in.experiment->task.type;
    if (type == TaskType::kFinetune) {
      finetune_ = FinetuneSettings::read(in.settings);
      const SourceModel& source = *in.resources->source;
      model_params_ = source.card.model_params;
      for (const auto& item : in.model_params.items()) model_params_[item.key()] = item.value();
      head_only_ = trains_head_only(*finetune_, *source.net);
      // Cached features stand for the source's backbone: the same parameters, and no mixtures of inputs.
      on_features_ = head_only_ && in.resources->backbone_features && settings.mixup == 0 && !settings.augment.any() &&
                     model_params_ == source.card.model_params && in.settings.value("feature_cache", true);
    } else {
      model_params_ = in.model_params;
      if (type == TaskType::kDistill) distill_ = DistillSettings::read(in.settings);
    }
  }

  // A run training on `train`, whose rows are `rows` of the pool (train rows, then valid rows).
  std::unique_ptr<TrainingRun> make(const Split& train, const at::Tensor& rows, std::uint64_t seed) {
    const DataSplits& data = *in_.data;
    if (finetune_) {
      if (wants_preprocessing(in_.preprocess))
        throw TrialFailure("preprocessing is for train and distill tasks; a fine-tuned network reads data as its source did");
      FinetuneStart start = finetune_start(*in_.resources->source, *in_.model, in_.model_name, in_.model_params,
                                           data.class_names, *finetune_, seed);
      fitted_.push_back(in_.resources->source->card.preprocess);  // the source's, carried over
      new_head_ = start.new_head;
      if (head_only_) start.net = head_only(start.net, on_features_);
      return std::make_unique<TrainingRun>(start.net, train, settings_, std::move(start.groups));
    }
    ModelRequest request;
    request.params = in_.model_params;
    request.search_dirs = in_.experiment->data_dirs;
    // Fitted on the rows this run trains on (the training split or a fold's), never on what it is scored on.
    const Preprocessor pre = fit_preprocessor(in_.preprocess, train.x, data.categorical, data.pixels);
    request.shape.input = pre.identity() ? data.input_shape : pre.output_shape();
    request.shape.classes = static_cast<std::int64_t>(data.class_names.size());
    auto net = with_preprocessing(build_network(*in_.model, in_.model_name, request, seed), pre);
    fitted_.push_back(pre.identity() ? json::object() : pre.describe());
    std::unique_ptr<LossTerms> extra;
    if (distill_)
      extra = make_distillation_loss(*in_.resources->teacher, rows, *net, train.x.slice(0, 0, 1), *distill_, seed);
    auto groups = all_parameters(*net);
    return std::make_unique<TrainingRun>(net, train, settings_, std::move(groups), std::move(extra));
  }

  const json& model_params() const { return model_params_; }
  /// The data the runs train and are scored on: the backbone's features when a frozen backbone's
  /// are cached, else the study's data.
  const DataSplits& data() const { return on_features_ ? in_.resources->backbone_features->data() : *in_.data; }
  /// What each run's preprocessing fitted, in the order the runs were made (empty objects: none).
  const std::vector<json>& fitted() const { return fitted_; }

  // What the trial stores about how its network started.
  void describe(json& attrs) const {
    const auto& source = in_.resources->source;
    if (finetune_) {
      attrs["source"] = source->reference;
      attrs["new_head"] = new_head_;
    } else if (distill_) {
      attrs["teacher"] = source->reference;
    }
  }

 private:
  const TaskInput& in_;
  TrainSettings settings_;
  std::optional<FinetuneSettings> finetune_;
  std::optional<DistillSettings> distill_;
  json model_params_;
  std::vector<json> fitted_;
  bool new_head_ = false;
  bool head_only_ = false, on_features_ = false;
};

double epoch_value(const std::string& metric, const Run& run) {
  return metric == "train_loss" ? run.train_loss : run.valid_metrics.at(metric);
}

// The runs' last validation metrics and training loss, averaged over the runs (the folds).
void add_run_metrics(const std::vector<Run>& runs, TrialResult& result) {
  std::vector<Metrics> valid;
  double train_loss = 0;
  for (const auto& r : runs) {
    valid.push_back(r.valid_metrics);
    train_loss += r.train_loss / static_cast<double>(runs.size());
  }
  for (const auto& [name, value] : mean_metrics(valid)) result.metrics[name] = value;
  result.metrics["train_loss"] = train_loss;
}

TrialResult pruned_result(int epoch, const std::vector<Run>& runs) {
  TrialResult pruned;
  pruned.state = TrialState::kPruned;
  add_run_metrics(runs, pruned);
  pruned.attrs["pruned_at_epoch"] = epoch;
  pruned.error = "pruned at epoch " + std::to_string(epoch);
  return pruned;
}

}  // namespace

std::optional<std::size_t> epoch_objective(const std::vector<Objective>& objectives) {
  for (std::size_t i = 0; i < objectives.size(); ++i)
    if (objectives[i].metric.rfind("val_", 0) == 0 || objectives[i].metric == "train_loss") return i;
  return std::nullopt;
}

TaskOutput run_task(const TaskInput& in) {
  const Experiment& e = *in.experiment;
  TrainSettings settings = TrainSettings::read(in.settings, e.task.type);
  settings.class_weight = class_weights(in.settings.value("class_weight", json("none")), *in.data);
  const Scoring builtin_only;
  const Scoring& scoring = in.scoring ? *in.scoring : builtin_only;
  auto score = [&](Network& net, const Split& split, const char* prefix) {
    return scoring.score(predict_logits(net, split.x), split, prefix);
  };
  TrialGeneratorScope trial_random(in.seed);
  RunFactory factory(in, settings);
  const DataSplits& data = factory.data();
  const CrossValidation& cv = e.task.cross_validation;
  const auto objective = epoch_objective(e.task.objectives);
  const std::int64_t train_rows = data.train.size();

  // The pool (train rows, then valid rows) that folds split; without folds, train and valid as given.
  Split pool;
  std::vector<Run> runs;
  if (cv.enabled()) {
    pool = Split{torch::cat({data.train.x, data.valid.x}), torch::cat({data.train.y, data.valid.y})};
    if (data.train.outcome.defined() && data.valid.outcome.defined())
      pool.outcome = torch::cat({data.train.outcome, data.valid.outcome});
    const auto folds = stratified_folds(pool.y, cv.folds, cv.seed, "task.cross_validation.folds");
    for (std::size_t f = 0; f < folds.size(); ++f) {
      const Split train{pool.x.index_select(0, folds[f].train), pool.y.index_select(0, folds[f].train)};
      Run run;
      run.training = factory.make(train, folds[f].train, derive_seed(in.seed, f + 1));
      run.valid = Split{pool.x.index_select(0, folds[f].valid), pool.y.index_select(0, folds[f].valid)};
      if (pool.outcome.defined()) run.valid.outcome = pool.outcome.index_select(0, folds[f].valid);
      runs.push_back(std::move(run));
    }
  } else {
    Run run;
    run.training = factory.make(data.train, torch::arange(train_rows, torch::kLong), in.seed);
    run.valid = data.valid;
    runs.push_back(std::move(run));
  }

  for (int epoch = 1; epoch <= settings.epochs; ++epoch) {
    for (auto& run : runs) {
      run.train_loss = run.training->train_epoch(epoch);
      run.valid_metrics = score(*run.training->network(), run.valid, "val");
    }
    if (!objective || !in.on_epoch) continue;
    double value = 0;
    for (const auto& run : runs)
      value += epoch_value(e.task.objectives[*objective].metric, run) / static_cast<double>(runs.size());
    if (in.on_epoch(epoch, value)) {
      TaskOutput out;
      out.result = pruned_result(epoch, runs);
      factory.describe(out.result.attrs);
      return out;
    }
  }

  TaskOutput out;
  TrialResult& result = out.result;
  add_run_metrics(runs, result);
  std::shared_ptr<Network> final_net = runs.front().training->network();
  if (cv.enabled()) {
    json folds = json::array();
    for (const auto& run : runs) folds.push_back(metrics_json(run.valid_metrics, run.train_loss));
    result.attrs["folds"] = folds;
    if (cv.refit) {
      // One more run on all of train + valid: the model that is saved and scored on test.
      auto refit = factory.make(pool, torch::arange(pool.size(), torch::kLong), in.seed);
      for (int epoch = 1; epoch <= settings.epochs; ++epoch) refit->train_epoch(epoch);
      final_net = refit->network();
      out.network = final_net;
      if (data.test.size() > 0) result.metrics.merge(score(*final_net, data.test, "test"));
    } else if (data.test.size() > 0) {
      std::vector<Metrics> test;
      for (const auto& run : runs) test.push_back(score(*run.training->network(), data.test, "test"));
      result.metrics.merge(mean_metrics(test));
    }
  } else {
    out.network = final_net;
    if (data.test.size() > 0) result.metrics.merge(score(*final_net, data.test, "test"));
  }
  // A frozen backbone's network is saved and measured whole.
  final_net = without_head_only(final_net);
  if (out.network) out.network = final_net;
  const std::int64_t parameters = parameter_count(*final_net);
  result.attrs["parameter_count"] = parameters;
  result.metrics["parameter_count"] = static_cast<double>(parameters);
  result.metrics["latency_ms"] = latency_ms(*final_net, in.data->valid.x.slice(0, 0, 1));
  factory.describe(result.attrs);
  if (const auto& fitted = factory.fitted(); !fitted.empty() && !fitted.back().empty()) {
    // The saved network's preprocessing is the last run's (the only run, or the refit); folds without
    // a refit each fitted their own.
    out.preprocess = out.network ? fitted.back() : json::object();
    result.attrs["preprocess"] = cv.enabled() && !cv.refit ? json(fitted) : fitted.back();
  }
  for (const auto& o : e.task.objectives) {
    const auto it = result.metrics.find(o.metric);
    const double v = it == result.metrics.end() ? std::nan("") : it->second;
    if (!std::isfinite(v))
      throw TrialFailure("objective " + o.metric + " is " + std::to_string(v) +
                         " (undefined on this split, e.g. ROC-AUC with one class present)");
    result.values.push_back(v);
  }
  result.state = TrialState::kComplete;
  out.model_params = factory.model_params();
  return out;
}

}  // namespace lepton::engine
