// Fine-tuning's starting network and parameter groups.
#include "train/tasks/finetune.hpp"

#include "experiment/parameters.hpp"
#include "train/preprocess.hpp"

#include <lepton/random.hpp>

#include <torch/torch.h>

#include <set>

namespace lepton::engine {

FinetuneSettings FinetuneSettings::read(const json& given) {
  auto value = [&](const std::string& name) { return task_setting(TaskType::kFinetune, given, name); };
  FinetuneSettings s;
  s.freeze_layers = value("freeze_layers").get<int>();
  s.backbone_lr_scale = value("backbone_lr_scale").get<double>();
  s.head_epochs = value("head_epochs").get<int>();
  s.head = value("head").get<std::string>();
  return s;
}

bool needs_new_head(const std::string& policy, const std::vector<std::string>& source,
                    const std::vector<std::string>& target) {
  if (policy == "new") return true;
  if (policy == "keep") return false;
  return source != target;
}

FinetuneStart finetune_start(const SourceModel& source, const Model& model, const std::string& model_name,
                             const json& params, const std::vector<std::string>& class_names,
                             const FinetuneSettings& s, std::uint64_t seed) {
  ModelRequest request;
  request.params = source.card.model_params;
  for (const auto& item : params.items()) request.params[item.key()] = item.value();
  // The source's preprocessing comes along (its statistics are buffers, copied with the weights).
  const Preprocessor pre = blank_preprocessor(source.card.preprocess, source.card.input_shape);
  request.shape.input = pre.output_shape();
  request.shape.classes = static_cast<std::int64_t>(source.card.class_names.size());
  request.search_dirs = source.card.search_dirs;
  FinetuneStart out;
  out.net = with_preprocessing(build_network(model, model_name, request, seed), pre);
  try {
    copy_weights(*source.net, *out.net, "the source (" + source.description + ")");
  } catch (const ConfigError& e) {
    throw TrialFailure(std::string(e.what()) +
                       "; fine-tuning keeps the source's architecture: search only parameters that leave the "
                       "weights' shapes alone (dropout, say)");
  }
  out.new_head = needs_new_head(s.head, source.card.class_names, class_names);
  if (out.new_head) {
    const auto lock = seeded_construction(derive_seed(seed, 0x4ead));
    out.net->replace_head(static_cast<std::int64_t>(class_names.size()));
  } else if (source.card.class_names.size() != class_names.size()) {
    throw TrialFailure("head \"keep\" needs the source's " + std::to_string(source.card.class_names.size()) +
                       " classes, but the data has " + std::to_string(class_names.size()));
  }

  const auto layers = out.net->backbone_layers();
  if (s.freeze_layers > static_cast<int>(layers.size()))
    throw TrialFailure("freeze_layers " + std::to_string(s.freeze_layers) + " exceeds the " +
                       std::to_string(layers.size()) + " backbone layers of model " + model_name);
  std::set<const void*> frozen, head;
  for (int i = 0; i < s.freeze_layers; ++i)
    for (const auto& p : layers[static_cast<std::size_t>(i)]) frozen.insert(p.unsafeGetTensorImpl());
  ParamGroup head_group{out.net->head_parameters(), 1.0, 1};
  for (const auto& p : head_group.params) head.insert(p.unsafeGetTensorImpl());
  // Everything else a plugin registered counts as backbone, layer by layer or not.
  ParamGroup backbone{{}, s.backbone_lr_scale, s.head_epochs + 1};
  for (const auto& p : out.net->parameters())
    if (!frozen.count(p.unsafeGetTensorImpl()) && !head.count(p.unsafeGetTensorImpl())) backbone.params.push_back(p);
  out.groups.push_back(std::move(head_group));
  if (s.backbone_lr_scale > 0 && !backbone.params.empty()) out.groups.push_back(std::move(backbone));
  return out;
}

}  // namespace lepton::engine
