// Preparing a study's task, once for all trials: the saved model a finetune task starts from or a
// distill task learns from (a folder, or a trial of a study), the data, and the checks that the two
// fit together and the task's settings.
#pragma once

#include "plugins/registry.hpp"
#include "train/tasks/task.hpp"
#include "experiment/experiment.hpp"

#include <lepton/dataset.hpp>

#include <memory>
#include <string>

namespace lepton::engine {

/// Preparation, step 1 (before the data): reads the saved model a finetune or distill task starts
/// from, resolving a study reference in `e.storage` (or the reference's own store). Throws
/// ConfigError at the reference's JSON path.
std::shared_ptr<TaskResources> open_task(const Experiment& e, const Registry& registry);

/// The model plugin a study trains: the experiment's, else (finetune) the source's.
std::string task_model_plugin(const Experiment& e, const TaskResources& task);

/// Preparation, step 2: loads the data through the dataset plugin and applies `dataset.subset`.
std::shared_ptr<DataSplits> load_study_data(const Experiment& e, const Registry& registry, TaskResources& task);

/// Preparation, step 3 (after the data): checks the source or teacher fits the data and the task's
/// settings, and computes the teacher's outputs. Throws ConfigError.
void bind_task_data(TaskResources& task, const Experiment& e, const DataSplits& data);

}  // namespace lepton::engine
