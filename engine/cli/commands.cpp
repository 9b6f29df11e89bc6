// The subcommands. Each opens what it needs, prints human tables or one JSON document, and lets
// errors propagate to main(), which maps them to exit codes.
#include "cli/commands.hpp"

#include "cli/progress.hpp"
#include "cli/signals.hpp"
#include "plugins/registry.hpp"
#include "report/grouping.hpp"
#include "report/ranking.hpp"
#include "report/table.hpp"
#include "train/blas.hpp"
#include "run/isolation.hpp"
#include "run/study.hpp"
#include "train/tasks/task.hpp"
#include "experiment/experiment.hpp"
#include "store/artifacts.hpp"
#include "store/store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

namespace lepton::cli {

using namespace lepton::engine;

StudyRecord require_study(Store& store, const std::string& name) {
  if (auto study = store.find_study(name)) return *study;
  std::vector<std::string> names;
  for (const auto& s : store.list_studies()) names.push_back(s.name);
  std::string message = "no study \"" + name + "\" in " + store.url();
  if (auto near = closest_match(name, names)) message += " (did you mean \"" + *near + "\"?)";
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw ConfigError("--study", message + "; studies there: " + (list.empty() ? "none" : list));
}

namespace {

std::string objective_header(const Objective& o) {
  return o.metric + (o.direction == Direction::kMaximize ? " (max)" : " (min)");
}

std::string date_text(double unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M", std::localtime(&t));
  return buffer;
}

std::vector<std::string> param_names(const std::vector<TrialRecord>& trials) {
  std::vector<std::string> names;
  for (const auto& t : trials)
    for (const auto& item : t.params.items())
      if (std::find(names.begin(), names.end(), item.key()) == names.end()) names.push_back(item.key());
  return names;
}

// The ranked table `run` ends with and `trials` prints.
void print_trials_table(const std::vector<TrialRecord>& rows, const std::vector<Objective>& objectives,
                        const std::string& extra_metric, std::ostream& out) {
  const auto params = param_names(rows);
  std::vector<std::string> header{"#", "state"};
  for (const auto& o : objectives) header.push_back(objective_header(o));
  const bool show_extra = !extra_metric.empty() && std::none_of(objectives.begin(), objectives.end(), [&](const Objective& o) {
    return o.metric == extra_metric;
  });
  if (show_extra) header.push_back(extra_metric);
  for (const auto& p : params) header.push_back(p);
  header.push_back("duration");
  TextTable table(header);
  for (const auto& t : rows) {
    std::vector<std::string> cells{std::to_string(t.number), to_string(t.state)};
    for (std::size_t i = 0; i < objectives.size(); ++i)
      cells.push_back(i < t.values.size() ? format_number(t.values[i]) : "-");
    if (show_extra) {
      const auto it = t.metrics.find(extra_metric);
      cells.push_back(it == t.metrics.end() ? "-" : format_number(it->second));
    }
    for (const auto& p : params) cells.push_back(t.params.contains(p) ? format_value(t.params[p]) : "-");
    cells.push_back(t.finished_at > 0 ? format_duration(t.duration()) : "-");
    table.add_row(std::move(cells));
  }
  table.print(out);
}

std::map<TrialState, int> count_states(const std::vector<TrialRecord>& trials) {
  std::map<TrialState, int> counts;
  for (const auto& t : trials) ++counts[t.state];
  return counts;
}

// A multi-objective study has no single best trial: `best` shows its Pareto front. The JSON keeps
// the single-trial fields (the front's best trial by the first objective) and adds the front.
int print_pareto_front(const StudyRecord& study, const std::vector<TrialRecord>& trials, bool as_json) {
  const auto front = ranked_front(trials, study.objectives);
  if (as_json) {
    json out = trial_to_json(front.front(), study.objectives);
    out["pareto_front"] = json::array();
    for (const auto& t : front) out["pareto_front"].push_back(trial_to_json(t, study.objectives));
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  std::cout << "Pareto front of study " << study.name << ": " << front.size() << " of " << trials.size()
            << " trials that no other trial beats on every objective\n\n";
  print_trials_table(front, study.objectives, "", std::cout);
  return 0;
}

int execute(const Experiment& experiment, const std::string& storage, const std::string& study_name, int trials,
            int parallel, const RunArgs& args, const Registry& registry, const PreparedExperiment& prepared) {
  auto store = open_store(storage);
  const auto view = make_progress_view(progress_mode(args.quiet, args.json), experiment.task.objectives, std::cerr, std::cout);
  auto& progress = *view;
  RunOptions options{trials, parallel};
  options.stop_requested = stop_requested;
  options.stuck_after_stop = [] {  // the stuck trials are already recorded: ending now loses nothing
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(kStoppedExitCode);
  };
  install_stop_handlers();
  if (parallel > available_cores())
    spdlog::warn("parallel {} exceeds the {} cores available; trials will share cores", parallel, available_cores());
  const auto refused = std::count_if(registry.records().begin(), registry.records().end(),
                                     [](const PluginRecord& r) { return !r.loaded; });
  if (refused > 0) spdlog::warn("{} plugin(s) refused to load; `lepton plugins list` says why", refused);
  const std::string blas = blas_library();
  if (is_reference_blas(blas))
    spdlog::warn("LibTorch runs on the reference BLAS ({}): training is about 3x slower than with OpenBLAS; "
                 "install libopenblas0-pthread (scripts/setup does)", blas);
  if (is_thread_unsafe_blas(blas) && parallel > 1 && experiment.execution.isolation == Isolation::kThread)
    spdlog::warn("LibTorch runs on OpenBLAS's serial build ({}), which gives wrong results when trials in threads "
                 "call it at once; install libopenblas0-pthread (scripts/setup does), or set "
                 "\"execution\": {{\"isolation\": \"process\"}}", blas);
  for (const auto& notice : prepared.data->info.value("notices", json::array()))
    spdlog::info("{}: {}", experiment.dataset.path, notice.get<std::string>());
  if (const auto& source = prepared.task->source)
    spdlog::info("{} from {} ({})", experiment.task.type == TaskType::kFinetune ? "fine-tuning" : "distilling", source->description, source->folder);
  const RunSummary summary = run_study(prepared, *store, registry, options, progress, study_name);
  const std::string stopped_by = stop_signal_name();
  remove_stop_handlers();

  const auto all = store->trials(summary.study.id);
  progress.study_finished(summary.study, all, store->url());
  if (args.json) return summary.stopped ? kStoppedExitCode : 0;  // the study_finished event was the summary
  const auto counts = count_states(all);
  const bool several = experiment.task.objectives.size() > 1;
  auto ranked = several ? ranked_front(all, experiment.task.objectives)
                        : rank(all, sort_key("", experiment.task.objectives, all));
  const std::size_t shown = std::min<std::size_t>(ranked.size(), several ? ranked.size() : 10);
  std::cout << "\n" << (several ? "Pareto front: " : "Top ") << shown << " of " << all.size() << " trials of study "
            << summary.study.name << ":\n";
  ranked.resize(shown);
  print_trials_table(ranked, experiment.task.objectives, "", std::cout);
  auto count = [&](TrialState s) { return counts.count(s) ? counts.at(s) : 0; };
  std::cout << "\n" << all.size() << " trials: " << count(TrialState::kComplete) << " complete";
  if (count(TrialState::kPruned)) std::cout << ", " << count(TrialState::kPruned) << " pruned";
  if (count(TrialState::kFail)) std::cout << ", " << count(TrialState::kFail) << " failed";
  if (count(TrialState::kRunning)) std::cout << ", " << count(TrialState::kRunning) << " running elsewhere";
  std::cout << "; stored in " << store->url() << "\n";
  if (summary.stopped) {
    std::cout << "Stopped by " << (stopped_by.empty() ? "a signal" : stopped_by) << " (" << summary.interrupted
              << " running trial(s) recorded as FAIL interrupted). Continue with: lepton resume --storage "
              << store->url() << " --study " << summary.study.name << "\n";
    return kStoppedExitCode;
  }
  std::cout << "Next: lepton best --storage " << store->url() << " --study " << summary.study.name << " --json\n";
  return 0;
}

// The command line's --isolation over the experiment's.
void apply_overrides(Experiment& experiment, const RunArgs& args) {
  if (!args.isolation.empty()) experiment.execution.isolation = parse_isolation(args.isolation, "--isolation");
  check_execution(experiment.execution);
}

// Runs the study as stored, with the budget the last `run` gave it.
int continue_study(std::unique_ptr<Store> store, const StudyRecord& study, const RunArgs& args) {
  Experiment experiment = experiment_of(study);
  const json stored_trials = store->study_attr(study.id, "trials");
  const int trials = args.trials.value_or(stored_trials.is_number() ? stored_trials.get<int>() : experiment.search.trials);
  const int parallel = args.parallel.value_or(experiment.search.parallel);
  store.reset();
  apply_overrides(experiment, args);
  Registry registry;
  registry.load_default();
  experiment.storage = args.storage;  // where a source or teacher named by study is looked up
  PreparedExperiment prepared = prepare_experiment(experiment, registry);
  prepared.artifact_dir = study_artifact_dir(args.storage, study.name);
  return execute(prepared.experiment, args.storage, study.name, trials, parallel, args, registry, prepared);
}

}  // namespace

int run_command(const RunArgs& args) {
  Experiment experiment = load_experiment(args.experiment);
  const std::string storage = !args.storage.empty()      ? args.storage
                              : !experiment.storage.empty() ? experiment.storage
                                                            : kDefaultStorage;
  const std::string study = args.study.empty() ? experiment.name : args.study;
  const int trials = args.trials.value_or(experiment.search.trials);
  const int parallel = args.parallel.value_or(experiment.search.parallel);
  apply_overrides(experiment, args);
  Registry registry;
  registry.load_default();
  experiment.storage = storage;  // where a source or teacher named by study is looked up
  PreparedExperiment prepared = prepare_experiment(experiment, registry);
  prepared.artifact_dir = study_artifact_dir(storage, study);
  return execute(prepared.experiment, storage, study, trials, parallel, args, registry, prepared);
}

int resume_command(const RunArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  const StudyRecord study = require_study(*store, args.study);
  return continue_study(std::move(store), study, args);
}

int worker_command(const RunArgs& args) {
  // Workers often start with (or before) the process that creates the study: wait for it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(args.wait);
  for (bool said = false;; said = true) {
    const bool last = said && std::chrono::steady_clock::now() >= deadline;
    std::unique_ptr<Store> store;
    try {
      store = open_store(args.storage, OpenMode::kExisting);
    } catch (const ConfigError&) {
      if (last) throw;  // still no store: the message says how to make one
    }
    if (store) {
      if (auto study = store->find_study(args.study)) return continue_study(std::move(store), *study, args);
      if (last) require_study(*store, args.study);  // throws, naming the studies there
    }
    if (!said && args.wait > 0) std::cerr << "waiting up to " << args.wait << " s for study " << args.study << " to appear in " << args.storage << std::endl;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

int trial_process_command(long parent_pid) { return serve_trial_process(parent_pid); }

int studies_command(const QueryArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  json out = json::array();
  TextTable table({"study", "objective", "trials", "complete", "pruned", "failed", "running", "best", "created"});
  for (const auto& study : store->list_studies()) {
    const auto trials = store->trials(study.id);
    const auto counts = count_states(trials);
    auto count = [&](TrialState s) { return counts.count(s) ? counts.at(s) : 0; };
    const auto best = best_trial(trials, study.objectives);
    std::string objectives;
    for (const auto& o : study.objectives) objectives += (objectives.empty() ? "" : ", ") + objective_header(o);
    table.add_row({study.name, objectives, std::to_string(trials.size()), std::to_string(count(TrialState::kComplete)),
                   std::to_string(count(TrialState::kPruned)), std::to_string(count(TrialState::kFail)),
                   std::to_string(count(TrialState::kRunning)),
                   !best                         ? "-"
                   : study.objectives.size() > 1 ? "front of " + std::to_string(ranked_front(trials, study.objectives).size())
                                                 : format_number(best->values.front()) + " (#" + std::to_string(best->number) + ")",
                   date_text(study.created_at)});
    out.push_back({{"name", study.name},
                   {"objectives", objectives_to_json(study.objectives)},
                   {"trials", trials.size()},
                   {"states",
                    {{"COMPLETE", count(TrialState::kComplete)},
                     {"PRUNED", count(TrialState::kPruned)},
                     {"FAIL", count(TrialState::kFail)},
                     {"RUNNING", count(TrialState::kRunning)}}},
                   {"best", best ? trial_to_json(*best, study.objectives) : json(nullptr)},
                   {"created_at", study.created_at}});
    if (study.objectives.size() > 1) {
      json numbers = json::array();
      for (const auto& t : ranked_front(trials, study.objectives)) numbers.push_back(t.number);
      out.back()["pareto_front"] = numbers;
    }
  }
  if (args.json) {
    std::cout << out.dump(2) << std::endl;
  } else if (table.empty()) {
    std::cout << "no studies in " << store->url() << std::endl;
  } else {
    table.print(std::cout);
  }
  return 0;
}

namespace {

// `trials --group-by PARAM`: the groups ranked by their best trial.
int print_trial_groups(const std::vector<TrialRecord>& trials, const QueryArgs& args, const SortKey& key,
                       const std::vector<Objective>& objectives) {
  auto groups = group_trials(trials, args.group_by, key);
  if (args.top && groups.size() > static_cast<std::size_t>(*args.top)) groups.resize(static_cast<std::size_t>(*args.top));
  if (args.json) {
    std::cout << groups_to_json(groups, args.group_by, objectives).dump(2) << std::endl;
    return 0;
  }
  print_groups(groups, args.group_by, key.metric.empty() ? objectives.at(key.objective).metric : key.metric, std::cout);
  return 0;
}

}  // namespace

int trials_command(const QueryArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  const StudyRecord study = require_study(*store, args.study);
  auto all = store->trials(study.id);
  if (!args.state.empty()) {
    TrialState wanted;
    try {
      wanted = trial_state_from_string(args.state);
    } catch (const std::invalid_argument&) {
      throw ConfigError("--state", "expected COMPLETE, PRUNED, FAIL, RUNNING or WAITING, got \"" + args.state + "\"");
    }
    all.erase(std::remove_if(all.begin(), all.end(), [&](const TrialRecord& t) { return t.state != wanted; }), all.end());
  }
  const SortKey key = sort_key(args.sort, study.objectives, all, store->study_attr(study.id, "metric_directions"));
  if (!args.group_by.empty()) return print_trial_groups(all, args, key, study.objectives);
  std::vector<TrialRecord> rows = rank(all, key);
  if (!args.top) {  // without --top, the trials that have no value follow, by number
    for (const auto& t : all)
      if (std::none_of(rows.begin(), rows.end(), [&](const TrialRecord& r) { return r.number == t.number; }))
        rows.push_back(t);
  } else if (rows.size() > static_cast<std::size_t>(*args.top)) {
    rows.resize(static_cast<std::size_t>(*args.top));
  }
  if (args.json) {
    json out = json::array();
    for (const auto& t : rows) out.push_back(trial_to_json(t, study.objectives));
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  if (rows.empty()) {
    std::cout << "no trials to show in study " << study.name << std::endl;
    return 0;
  }
  print_trials_table(rows, study.objectives, key.metric, std::cout);
  return 0;
}

int best_command(const QueryArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  const StudyRecord study = require_study(*store, args.study);
  const auto trials = store->trials(study.id);
  const auto best = best_trial(trials, study.objectives);
  if (!best) {
    std::cerr << "error: study " << study.name << " has no COMPLETE trial yet (" << trials.size() << " trials)"
              << std::endl;
    return 1;
  }
  if (study.objectives.size() > 1) return print_pareto_front(study, trials, args.json);
  if (args.json) {
    std::cout << trial_to_json(*best, study.objectives).dump(2) << std::endl;
    return 0;
  }
  std::cout << "Best trial of study " << study.name << ": #" << best->number << " of " << trials.size() << " ("
            << format_duration(best->duration()) << ")\n\n";
  TextTable objectives({"objective", "direction", "value"});
  for (std::size_t i = 0; i < study.objectives.size(); ++i)
    objectives.add_row({study.objectives[i].metric, to_string(study.objectives[i].direction),
                        format_number(best->values.at(i), 6)});
  objectives.print(std::cout);
  std::cout << "\n";
  TextTable params({"parameter", "value"});
  for (const auto& item : best->params.items()) params.add_row({item.key(), format_value(item.value())});
  if (!params.empty()) {
    params.print(std::cout);
    std::cout << "\n";
  }
  TextTable metrics({"metric", "validation", "test"});
  std::vector<std::string> names{"accuracy", "precision", "recall", "f1", "roc_auc", "loss"};
  for (const auto& [metric, value] : best->metrics) {  // then the metric plugins' ones
    const std::string name = metric.substr(metric.find('_') + 1);
    if (metric.rfind("val_", 0) == 0 && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const auto& name : names) {
    auto value = [&](const std::string& split) {
      const auto it = best->metrics.find(split + "_" + name);
      return it == best->metrics.end() ? std::string("-") : format_number(it->second);
    };
    metrics.add_row({name, value("val"), value("test")});
  }
  metrics.print(std::cout);
  return 0;
}

}  // namespace lepton::cli
