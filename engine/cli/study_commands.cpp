// Options, help and dispatch of the study and store commands (their work is in commands.cpp).
#include "cli/study_commands.hpp"

namespace lepton::cli {

namespace {

constexpr const char* kIsolationHelp =
    "Run each trial in a thread (default) or in a child process of its own (a crash, hang or leak then fails only "
    "that trial); overrides the experiment's \"isolation\"";

// The options `run`, `resume` and `worker` share, after their own.
void add_execution_options(CLI::App* command, RunArgs& args, const char* parallel_help) {
  command->add_option("--parallel", args.parallel, parallel_help)->check(CLI::Range(1, 1024));
  command->add_flag("-q,--quiet", args.quiet, "Print only the final table");
  command->add_flag("--json", args.json, "Progress as one JSON object per event on stdout (no table)");
  command->add_option("--isolation", args.isolation, kIsolationHelp)->check(CLI::IsMember({"thread", "process"}));
}

void add_store_options(CLI::App* command, QueryArgs& args, bool study) {
  command->add_option("--storage", args.storage, "Study store URL")->required();
  if (study) command->add_option("--study", args.study, "Study name")->required();
}

}  // namespace

StudyCommands::StudyCommands(CLI::App& app) {
  run_ = app.add_subcommand("run", "Run (or continue) the study an experiment file describes");
  run_->add_option("EXPERIMENT", run_args_.experiment, "Experiment file (JSON); see experiments/")->required();
  run_->add_option("--storage", run_args_.storage, "Study store URL (default: the experiment's, else sqlite:///lepton.db)");
  run_->add_option("--study", run_args_.study, "Study name (default: the experiment's name)");
  run_->add_option("--trials", run_args_.trials, "Total trials the study should have (default: search.trials)")
      ->check(CLI::Range(1, 10'000'000));
  add_execution_options(run_, run_args_, "Trials at once (default: search.parallel)");
  run_->footer(R"(
Runs trials until the study has its budget; a study of the same name in the store is continued.
Progress goes to stderr: an updating status line on a terminal, one line per trial otherwise.
Examples:
  lepton run experiments/quickstart.json --trials 40 --parallel 2
  lepton run experiments/quickstart.json --json | jq -c 'select(.event == "trial_finished") | .progress')");

  resume_ = app.add_subcommand("resume", "Finish a study that was stopped or killed");
  resume_->add_option("--storage", resume_args_.storage, "Study store URL")->required();
  resume_->add_option("--study", resume_args_.study, "Study name")->required();
  resume_->add_option("--trials", resume_args_.trials, "Raise the study's trial budget")->check(CLI::Range(1, 10'000'000));
  add_execution_options(resume_, resume_args_, "Trials at once");
  resume_->footer(R"(
Trials left RUNNING by a dead process are recorded as FAIL (interrupted); completed trials are kept
and numbering continues. The experiment is the one stored with the study.
Example:
  lepton resume --storage sqlite:///lepton.db --study breast-cancer-mlp)");

  worker_ = app.add_subcommand("worker", "Join a study as one more worker (on this or another machine)");
  worker_->add_option("--storage", worker_args_.storage, "Study store URL shared by the workers")->required();
  worker_->add_option("--study", worker_args_.study, "Study name")->required();
  worker_->add_option("--wait", worker_args_.wait, "Seconds to wait for the study to be created (default 60)")
      ->check(CLI::Range(0.0, 86400.0));
  add_execution_options(worker_, worker_args_, "Trials at once in this worker (default: search.parallel)");
  worker_->footer(R"(
Runs the study's stored experiment until its budget is spent, beside any number of other workers:
on SQLite (one machine) or PostgreSQL (many machines). Each trial number is taken once; a worker
that dies mid-trial is detected (at once on the same host, after heartbeat_grace elsewhere) and its
trial is failed and, with max_retries, run again by another worker.
Example (one study, three machines):
  lepton run experiment.json --storage postgresql://lepton@db-host/lepton --trials 300   # creates it
  lepton worker --storage postgresql://lepton@db-host/lepton --study my-study            # on each other machine)");

  trial_ = app.add_subcommand("__trial", "");  // internal: one trial of process isolation
  trial_->group("");
  trial_->add_option("--parent", trial_parent_)->required();
  trial_->add_option("--trial", trial_number_, "the trial's number, for `ps`");
}

std::optional<int> StudyCommands::run() const {
  if (*trial_) return trial_process_command(trial_parent_);
  if (*run_) return run_command(run_args_);
  if (*resume_) return resume_command(resume_args_);
  if (*worker_) return worker_command(worker_args_);
  return std::nullopt;
}

std::string StudyCommands::input_of(const ConfigError& error) const {
  // Errors in the experiment file name the file; those in options (--trials, say) need not.
  return *run_ && error.path().rfind('-', 0) != 0 ? run_args_.experiment + ": " : "";
}

StoreCommands::StoreCommands(CLI::App& app) {
  doctor_ = app.add_subcommand("doctor", "Check a study store and report trials whose worker is gone");
  add_store_options(doctor_, doctor_args_, false);
  doctor_->add_flag("--json", doctor_args_.json, "Print one JSON document");
  doctor_->footer(R"(
Runs SQLite's integrity check and lists RUNNING trials whose process died or whose heartbeat is older
than the study's heartbeat_grace. Changes nothing. Exit code 1 when the store is damaged.
Example:
  lepton doctor --storage sqlite:///lepton.db)");

  studies_ = app.add_subcommand("studies", "List the studies in a store");
  add_store_options(studies_, studies_args_, false);
  studies_->add_flag("--json", studies_args_.json, "Print one JSON document");

  trials_ = app.add_subcommand("trials", "List a study's trials, best first");
  add_store_options(trials_, trials_args_, true);
  trials_->add_option("--sort", trials_args_.sort, "Rank by this metric (default: the objective), e.g. val_f1");
  trials_->add_option("--top", trials_args_.top, "Show only the N best")->check(CLI::Range(1, 1'000'000'000));
  trials_->add_option("--state", trials_args_.state, "Only trials in this state: COMPLETE, PRUNED, FAIL, RUNNING");
  trials_->add_option("--group-by", trials_args_.group_by,
                      "Rank groups of trials by a parameter's value, e.g. model (families against each other)");
  trials_->add_flag("--json", trials_args_.json, "Print one JSON array");
  trials_->footer(R"(
Examples:
  lepton trials --storage sqlite:///lepton.db --study breast-cancer-mlp --sort val_accuracy --top 5
  lepton trials --storage sqlite:///lepton.db --study breast-cancer-select --group-by model)");

  best_ = app.add_subcommand("best", "Show a study's best trial: params, validation and test metrics "
                                     "(several objectives: the Pareto front)");
  add_store_options(best_, best_args_, true);
  best_->add_flag("--json", best_args_.json, "Print one JSON object: number, state, values, params, metrics "
                                             "(several objectives: also pareto_front, a list of such trials)");
}

std::optional<int> StoreCommands::run() const {
  if (*doctor_) return doctor_command(doctor_args_);
  if (*studies_) return studies_command(studies_args_);
  if (*trials_) return trials_command(trials_args_);
  if (*best_) return best_command(best_args_);
  return std::nullopt;
}

}  // namespace lepton::cli
