// `lepton`: the command-line shell over the engine. Parses arguments (CLI11), runs one subcommand,
// and maps errors to exit codes: 2 for bad input, 1 for anything else.
#include "cli/data_commands.hpp"
#include "cli/model_commands.hpp"
#include "cli/plugin_commands.hpp"
#include "cli/result_commands.hpp"
#include "cli/serve_commands.hpp"
#include "cli/study_commands.hpp"

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
  lepton serve --model models/teacher --port 8080
  lepton data inspect data/titanic.csv --label Survived

Storage URLs: sqlite:///relative.db, sqlite:////absolute/path.db, postgresql://user:password@host:5432/database
Plugins: the build's plugin folder, plus folders (or domain packs) in LEPTON_PLUGIN_PATH (colon-separated).
Ctrl-C (or SIGTERM) stops a study gracefully: no new trials, running ones get stop_grace seconds; a
second Ctrl-C stops at once. `lepton resume` continues it.
Exit codes: 0 success, 2 bad input (message on stderr), 1 other failures, 130 stopped by Ctrl-C/SIGTERM.)";

// CLI11 answers `lepton fly` with "A subcommand is required"; name the word and the commands instead.
bool unknown_command(const CLI::App& app, const std::string& word) {
  std::vector<std::string> commands;
  for (const auto* sub : app.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
    commands.push_back(sub->get_name());
  if (word == "__trial" || std::find(commands.begin(), commands.end(), word) != commands.end()) return false;
  std::string list;
  for (const auto& c : commands) list += (list.empty() ? "" : ", ") + c;
  const auto near = lepton::closest_match(word, commands);
  std::cerr << "error: unknown command \"" << word << "\"" << (near ? " (did you mean \"" + *near + "\"?)" : "")
            << "; the commands are " << list << " (see lepton --help)" << std::endl;
  return true;
}

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
  app.set_version_flag("--version", "lepton " LEPTON_VERSION);
  app.require_subcommand(1);
  const StudyCommands study_commands(app);    // run, resume, worker
  const StoreCommands store_commands(app);    // doctor, studies, trials, best
  const PluginCommands plugin_commands(app);  // plugins list, inspect, check
  const ResultCommands result_commands(app);  // report, compare, export-trials
  const ModelCommands model_commands(app);    // export, predict
  const DataCommands data_commands(app);      // data inspect
  const ServeCommands serve_commands(app);    // serve
  if (argc > 1 && argv[1][0] != '-' && unknown_command(app, argv[1])) return 2;

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

  for (const CommandGroup* group : std::initializer_list<const CommandGroup*>{
           &study_commands, &store_commands, &plugin_commands, &result_commands, &model_commands, &data_commands, &serve_commands}) {
    try {
      if (const auto code = group->run()) return *code;
    } catch (const lepton::ConfigError& e) {
      spdlog::error("{}{}", group->input_of(e), e.what());
      return 2;
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }
  return 1;
}
