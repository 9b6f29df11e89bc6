// `lepton`: the command-line shell over the engine. Parses arguments (CLI11), runs one subcommand,
// and maps errors to exit codes: 2 for bad input, 1 for anything else.
#include "cli/commands.hpp"
#include "cli/model_commands.hpp"
#include "cli/result_commands.hpp"
#include "store/store.hpp"

#include <lepton/config.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <iostream>

namespace {

constexpr const char* kExamples = R"(
Examples:
  lepton run experiments/quickstart.json
  lepton trials --storage sqlite:///lepton.db --study breast-cancer-mlp --sort val_accuracy --top 5
  lepton best --storage sqlite:///lepton.db --study breast-cancer-mlp --json
  lepton resume --storage sqlite:///lepton.db --study breast-cancer-mlp
  lepton report --storage sqlite:///lepton.db --study breast-cancer-mlp -o report.html
  lepton export-trials --storage sqlite:///lepton.db --study breast-cancer-mlp --format optuna-journal -o study.log
  lepton worker --storage postgresql://lepton@db-host/lepton --study breast-cancer-mlp
  lepton doctor --storage sqlite:///lepton.db
  lepton export --storage sqlite:///lepton.db --study digits-teacher --trial best -o models/teacher
  lepton predict --model models/teacher --data data/digits.csv.gz

Storage URLs: sqlite:///relative.db, sqlite:////absolute/path.db, postgresql://user:password@host:5432/database
Plugins: the build's plugin folder, plus folders (or domain packs) in LEPTON_PLUGIN_PATH (colon-separated).
Ctrl-C (or SIGTERM) stops a study gracefully: no new trials, running ones get stop_grace seconds; a
second Ctrl-C stops at once. `lepton resume` continues it.
Exit codes: 0 success, 2 bad input (message on stderr), 1 other failures, 130 stopped by Ctrl-C/SIGTERM.)";

constexpr const char* kIsolationHelp =
    "Run each trial in a thread (default) or in a child process of its own (a crash, hang or leak then fails only "
    "that trial); overrides the experiment's \"isolation\"";

}  // namespace

int main(int argc, char** argv) {
  using namespace lepton::cli;
  // Messages go to stderr (spdlog's default is stdout, which carries tables and --json output).
  spdlog::set_default_logger(spdlog::stderr_color_mt("lepton"));
  spdlog::set_pattern("%^%l%$: %v");
  // A file-size limit must give the store a write error it can report, not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);

  CLI::App app{"Lepton: search the hyperparameters of training, fine-tuning and distillation runs of LibTorch "
               "models, in parallel, with every trial stored for ranking, resuming and export."};
  app.footer(kExamples);
  app.set_version_flag("--version", "lepton 0.1.0");
  app.require_subcommand(1);

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run (or continue) the study an experiment file describes");
  run->add_option("EXPERIMENT", run_args.experiment, "Experiment file (JSON); see experiments/")->required();
  run->add_option("--storage", run_args.storage, "Study store URL (default: the experiment's, else sqlite:///lepton.db)");
  run->add_option("--study", run_args.study, "Study name (default: the experiment's name)");
  run->add_option("--trials", run_args.trials, "Total trials the study should have (default: search.trials)")
      ->check(CLI::Range(1, 10'000'000));
  run->add_option("--parallel", run_args.parallel, "Trials at once (default: search.parallel)")->check(CLI::Range(1, 1024));
  run->add_flag("-q,--quiet", run_args.quiet, "Print only the final table");
  run->add_flag("--json", run_args.json, "Progress as one JSON object per event on stdout (no table)");
  run->add_option("--isolation", run_args.isolation, kIsolationHelp)->check(CLI::IsMember({"thread", "process"}));
  run->footer(R"(
Runs trials until the study has its budget; a study of the same name in the store is continued.
Progress goes to stderr: an updating status line on a terminal, one line per trial otherwise.
Examples:
  lepton run experiments/quickstart.json --trials 40 --parallel 2
  lepton run experiments/quickstart.json --json | jq -c 'select(.event == "trial_finished") | .progress')");

  RunArgs resume_args;
  auto* resume = app.add_subcommand("resume", "Finish a study that was stopped or killed");
  resume->add_option("--storage", resume_args.storage, "Study store URL")->required();
  resume->add_option("--study", resume_args.study, "Study name")->required();
  resume->add_option("--trials", resume_args.trials, "Raise the study's trial budget")->check(CLI::Range(1, 10'000'000));
  resume->add_option("--parallel", resume_args.parallel, "Trials at once")->check(CLI::Range(1, 1024));
  resume->add_flag("-q,--quiet", resume_args.quiet, "Print only the final table");
  resume->add_flag("--json", resume_args.json, "Progress as one JSON object per event on stdout (no table)");
  resume->add_option("--isolation", resume_args.isolation, kIsolationHelp)->check(CLI::IsMember({"thread", "process"}));
  resume->footer(R"(
Trials left RUNNING by a dead process are recorded as FAIL (interrupted); completed trials are kept
and numbering continues. The experiment is the one stored with the study.
Example:
  lepton resume --storage sqlite:///lepton.db --study breast-cancer-mlp)");

  RunArgs worker_args;
  auto* worker = app.add_subcommand("worker", "Join a study as one more worker (on this or another machine)");
  worker->add_option("--storage", worker_args.storage, "Study store URL shared by the workers")->required();
  worker->add_option("--study", worker_args.study, "Study name")->required();
  worker->add_option("--parallel", worker_args.parallel, "Trials at once in this worker (default: search.parallel)")
      ->check(CLI::Range(1, 1024));
  worker->add_option("--isolation", worker_args.isolation, kIsolationHelp)->check(CLI::IsMember({"thread", "process"}));
  worker->add_option("--wait", worker_args.wait, "Seconds to wait for the study to be created (default 60)")
      ->check(CLI::Range(0.0, 86400.0));
  worker->add_flag("-q,--quiet", worker_args.quiet, "Print only the final table");
  worker->add_flag("--json", worker_args.json, "Progress as one JSON object per event on stdout (no table)");
  worker->footer(R"(
Runs the study's stored experiment until its budget is spent, beside any number of other workers:
on SQLite (one machine) or PostgreSQL (many machines). Each trial number is taken once; a worker
that dies mid-trial is detected (at once on the same host, after heartbeat_grace elsewhere) and its
trial is failed and, with max_retries, run again by another worker.
Example (one study, three machines):
  lepton run experiment.json --storage postgresql://lepton@db-host/lepton --trials 300   # creates it
  lepton worker --storage postgresql://lepton@db-host/lepton --study my-study            # on each other machine)");

  QueryArgs doctor_args;
  auto* doctor = app.add_subcommand("doctor", "Check a study store and report trials whose worker is gone");
  doctor->add_option("--storage", doctor_args.storage, "Study store URL")->required();
  doctor->add_flag("--json", doctor_args.json, "Print one JSON document");
  doctor->footer(R"(
Runs SQLite's integrity check and lists RUNNING trials whose process died or whose heartbeat is older
than the study's heartbeat_grace. Changes nothing. Exit code 1 when the store is damaged.
Example:
  lepton doctor --storage sqlite:///lepton.db)");

  long trial_parent = 0;
  int trial_number = 0;
  auto* trial_process = app.add_subcommand("__trial", "");  // internal: one trial of process isolation
  trial_process->group("");
  trial_process->add_option("--parent", trial_parent)->required();
  trial_process->add_option("--trial", trial_number, "the trial's number, for `ps`");

  QueryArgs studies_args;
  auto* studies = app.add_subcommand("studies", "List the studies in a store");
  studies->add_option("--storage", studies_args.storage, "Study store URL")->required();
  studies->add_flag("--json", studies_args.json, "Print one JSON document");

  QueryArgs trials_args;
  auto* trials = app.add_subcommand("trials", "List a study's trials, best first");
  trials->add_option("--storage", trials_args.storage, "Study store URL")->required();
  trials->add_option("--study", trials_args.study, "Study name")->required();
  trials->add_option("--sort", trials_args.sort, "Rank by this metric (default: the objective), e.g. val_f1");
  trials->add_option("--top", trials_args.top, "Show only the N best")->check(CLI::Range(1, 1'000'000'000));
  trials->add_option("--state", trials_args.state, "Only trials in this state: COMPLETE, PRUNED, FAIL, RUNNING");
  trials->add_option("--group-by", trials_args.group_by,
                     "Rank groups of trials by a parameter's value, e.g. model (families against each other)");
  trials->add_flag("--json", trials_args.json, "Print one JSON array");
  trials->footer(R"(
Examples:
  lepton trials --storage sqlite:///lepton.db --study breast-cancer-mlp --sort val_accuracy --top 5
  lepton trials --storage sqlite:///lepton.db --study breast-cancer-select --group-by model)");

  QueryArgs best_args;
  auto* best = app.add_subcommand("best", "Show a study's best trial: params, validation and test metrics "
                                          "(several objectives: the Pareto front)");
  best->add_option("--storage", best_args.storage, "Study store URL")->required();
  best->add_option("--study", best_args.study, "Study name")->required();
  best->add_flag("--json", best_args.json, "Print one JSON object: number, state, values, params, metrics "
                                        "(several objectives: also pareto_front, a list of such trials)");

  auto* plugins = app.add_subcommand("plugins", "List, inspect and check plugins");
  plugins->require_subcommand(0, 1);
  bool plugins_json = false;
  plugins->add_flag("--json", plugins_json, "Print one JSON document");
  plugins->footer(R"(
Examples:
  lepton plugins                                   # every plugin and pack found, with origin and status
  lepton plugins inspect build/lib/lepton/plugins/mlp.so
  lepton plugins check build/lib/lepton/plugins    # the conformance kit on every plugin there
  LEPTON_PLUGIN_PATH=build/packs lepton plugins list)");
  auto* plugins_list = plugins->add_subcommand("list", "Every plugin and pack found, with origin and status (the default)");
  plugins_list->add_flag("--json", plugins_json, "Print one JSON document");
  std::string inspect_file;
  auto* plugins_inspect = plugins->add_subcommand(
      "inspect", "Print a plugin file's identity, build fingerprint and manifest without running its code");
  plugins_inspect->add_option("FILE", inspect_file, "The plugin library (.so) or its manifest (.plugin.json)")->required();
  plugins_inspect->add_flag("--json", plugins_json, "Print one JSON document");
  plugins_inspect->footer(R"(
Reads the build stamp LEPTON_PLUGIN writes into the library and the manifest beside it, and says
whether this engine would load it (ABI and fingerprint). Exit code 2 when it would refuse it.)");
  std::vector<std::string> check_files;
  std::string check_config;
  auto* plugins_check = plugins->add_subcommand("check", "Drive plugins through their contract (the conformance kit)");
  plugins_check->add_option("FILE", check_files, "Plugin libraries, or folders of them")->required();
  plugins_check->add_option("--config", check_config,
                            "JSON object (or @file) merged over the manifest's \"conformance\" settings, e.g. "
                            "'{\"config\": {\"path\": \"data/iris.csv\"}}' for a dataset");
  plugins_check->add_flag("--json", plugins_json, "Print one JSON document");
  plugins_check->footer(R"(
Checks, by kind (each PASS or FAIL with the reason):
  searcher  creates from its options, rejects unknown options, proposals inside the space and
            conditions respected over random spaces, deterministic for a seed, resume equivalence
  model     builds for input shapes, output shape, features and head compose, a training step
            lowers the loss, parameter groups present, replace_head, deterministic, defaults accepted
  dataset   loads its example configuration, shapes and types, split sizes add up, no overlap
            between splits, labels in range, features finite, deterministic for a seed
  metric    computes every declared metric, deterministic, order-independent, perfect predictions best
The manifest's "conformance" object gives the settings: "options" (searcher, metric), "params" and
"input_shapes" (model), "config" (dataset), "classes" (metric). Exit code 0 when every check passes.
Examples:
  lepton plugins check build/lib/lepton/plugins/random.so
  lepton plugins check my_dataset.so --config '{"config": {"path": "data/mine.csv"}}')");

  const ResultCommands result_commands(app);  // report, compare, export-trials
  const ModelCommands model_commands(app);    // export, predict

  // CLI11 answers `lepton fly` with "A subcommand is required"; name the word and the commands instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> commands;
    for (const auto* sub : app.get_subcommands([](CLI::App* s) { return !s->get_group().empty(); }))
      commands.push_back(sub->get_name());
    const std::string word = argv[1];
    if (word != trial_process->get_name() && std::find(commands.begin(), commands.end(), word) == commands.end()) {
      std::string list;
      for (const auto& c : commands) list += (list.empty() ? "" : ", ") + c;
      const auto near = lepton::closest_match(word, commands);
      std::cerr << "error: unknown command \"" << word << "\"" << (near ? " (did you mean \"" + *near + "\"?)" : "")
                << "; the commands are " << list << " (see lepton --help)" << std::endl;
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  try {
    if (*trial_process) return trial_process_command(trial_parent);
    if (*run) return run_command(run_args);
    if (*resume) return resume_command(resume_args);
    if (*worker) return worker_command(worker_args);
    if (*doctor) return doctor_command(doctor_args);
    if (*studies) return studies_command(studies_args);
    if (*trials) return trials_command(trials_args);
    if (*best) return best_command(best_args);
    if (const auto code = result_commands.run()) return *code;
    if (const auto code = model_commands.run()) return *code;
    if (*plugins) {
      if (*plugins_inspect) return plugins_inspect_command(inspect_file, plugins_json);
      if (*plugins_check) return plugins_check_command(check_files, check_config, plugins_json);
      return plugins_list_command(plugins_json);
    }
  } catch (const lepton::ConfigError& e) {
    const std::string where = *run ? run_args.experiment + ": " : "";
    spdlog::error("{}{}", e.path().rfind('-', 0) == 0 ? "" : where, e.what());
    return 2;
  } catch (const lepton::engine::StoreError& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 1;
}
