// `lepton report`, `lepton compare` and `lepton export-trials`: read the store, never write it.
#include "cli/result_commands.hpp"

#include "cli/commands.hpp"
#include "report/comparison.hpp"
#include "report/export.hpp"
#include "report/html_report.hpp"
#include "report/ranking.hpp"
#include "report/table.hpp"
#include "store/store.hpp"

#include <lepton/config.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

namespace lepton::cli {

using namespace lepton::engine;
namespace fs = std::filesystem;

namespace {

// Writes to `path` through a temporary file renamed into place, so that a failed export never
// leaves half a file; "-" or empty: stdout.
void write_output(const std::string& path, const std::function<void(std::ostream&)>& write) {
  if (path.empty() || path == "-") {
    write(std::cout);
    std::cout.flush();
    return;
  }
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(folder)) throw ConfigError("-o", "folder \"" + folder.string() + "\" does not exist");
  if (fs::is_directory(target)) throw ConfigError("-o", "\"" + path + "\" is a folder; give a file name");
  const fs::path temporary = folder / ("." + target.filename().string() + ".tmp-" + std::to_string(getpid()));
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + temporary.string() + ": " + std::strerror(errno));
    write(out);
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(temporary, ignored);
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error) {
    fs::remove(temporary, error);
    throw std::runtime_error("cannot write " + path + ": " + error.message());
  }
}

std::string size_text(std::uintmax_t bytes) {
  std::ostringstream s;
  s.precision(2);
  if (bytes >= 1'000'000) s << std::fixed << bytes / 1e6 << " MB";
  else s << (bytes + 999) / 1000 << " kB";
  return s.str();
}

}  // namespace

int report_command(const ReportArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  const StudyRecord study = require_study(*store, args.study);
  const auto trials = store->trials(study.id);
  ReportOptions options;
  options.storage = store->url();
  const json data = report_data(study, trials, options);
  const std::string output = args.output.empty() ? study.name + ".html" : args.output;
  write_output(output, [&](std::ostream& out) { write_html_report(data, out); });
  if (output != "-")
    std::cout << "Wrote " << output << " (" << size_text(fs::file_size(output)) << ", " << trials.size()
              << " trials of study " << study.name << "); it opens in any browser, offline." << std::endl;
  return 0;
}

int compare_command(const CompareArgs& args) {
  const std::string storage_b = args.storage_b.empty() ? args.storage : args.storage_b;
  if (args.study_a == args.study_b && storage_b == args.storage)
    throw ConfigError("STUDY_B", "both arguments name study \"" + args.study_a + "\"; give two different studies");
  auto store_a = open_store(args.storage, OpenMode::kExisting);
  auto store_b = open_store(storage_b, OpenMode::kExisting);
  const StudyRecord study_a = require_study(*store_a, args.study_a), study_b = require_study(*store_b, args.study_b);
  const Comparison c = compare_studies(study_a, store_a->trials(study_a.id), store_a->url(), study_b,
                                       store_b->trials(study_b.id), store_b->url());
  if (args.json) {
    std::cout << c.to_json().dump(2) << std::endl;
    return 0;
  }
  const ComparedStudy &a = c.a, &b = c.b;

  const std::string name_a = a.study.name, name_b = b.study.name == a.study.name ? b.study.name + " (B)" : b.study.name;
  std::cout << "Comparing " << name_a << " (" << a.storage << ") with " << name_b << " (" << b.storage << ")\n\n";
  TextTable summary({"", name_a, name_b});
  summary.add_row({"searcher", a.searcher, b.searcher});
  summary.add_row({"trials", std::to_string(a.trials.size()), std::to_string(b.trials.size())});
  auto states = [](const ComparedStudy& s) {
    return std::to_string(s.count(TrialState::kComplete)) + " / " + std::to_string(s.count(TrialState::kPruned)) +
           " / " + std::to_string(s.count(TrialState::kFail));
  };
  summary.add_row({"complete / pruned / failed", states(a), states(b)});
  for (std::size_t k = 0; k < c.objectives.size(); ++k) {
    const Objective& o = c.objectives[k];
    auto best_text = [&](const BestFound& mine, const BestFound& theirs) {
      if (mine.number < 0) return std::string("-");
      const bool wins = theirs.number < 0 || better(mine.value, theirs.value, o.direction);
      return format_number(mine.value, 6) + " (#" + std::to_string(mine.number) + ")" + (wins ? " *" : "");
    };
    auto found_text = [](const BestFound& f) {
      if (f.number < 0) return std::string("-");
      return std::to_string(f.number + 1) + " trials" + (std::isfinite(f.after_s) ? ", " + format_duration(f.after_s) : "");
    };
    summary.add_row({"best " + o.metric + (o.direction == Direction::kMaximize ? " (max)" : " (min)"),
                     best_text(a.best[k], b.best[k]), best_text(b.best[k], a.best[k])});
    summary.add_row({"  found after", found_text(a.best[k]), found_text(b.best[k])});
  }
  auto elapsed = [](const ComparedStudy& s) { return s.last_end > 0 ? format_duration(s.last_end - s.first_start) : "-"; };
  summary.add_row({"wall time", elapsed(a), elapsed(b)});
  summary.print(std::cout);
  std::cout << "(* the better of the two)\n";

  std::cout << "\nConvergence: the best value within the first N trials\n";
  std::vector<std::string> header{"N"};
  for (const auto& o : c.objectives) {
    header.push_back(o.metric + " " + name_a);
    header.push_back(o.metric + " " + name_b);
  }
  TextTable curve(header);
  for (const int m : c.checkpoints) {
    std::vector<std::string> row{std::to_string(m)};
    for (std::size_t k = 0; k < c.objectives.size(); ++k) {
      row.push_back(format_number(a.convergence[k].best_within(m), 6));
      row.push_back(format_number(b.convergence[k].best_within(m), 6));
    }
    curve.add_row(std::move(row));
  }
  curve.print(std::cout);

  if (a.top || b.top) {
    std::cout << "\nBest trials' parameters\n";
    std::vector<std::string> names;
    for (const auto* t : {a.top ? &*a.top : nullptr, b.top ? &*b.top : nullptr})
      if (t)
        for (const auto& item : t->params.items())
          if (std::find(names.begin(), names.end(), item.key()) == names.end()) names.push_back(item.key());
    TextTable params({"parameter", name_a, name_b});
    auto cell = [](const std::optional<TrialRecord>& t, const std::string& name) {
      return t && t->params.contains(name) ? format_value(t->params[name]) : std::string("-");
    };
    for (const auto& n : names) params.add_row({n, cell(a.top, n), cell(b.top, n)});
    params.print(std::cout);
  }
  return 0;
}

int export_trials_command(const ExportArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  const StudyRecord study = require_study(*store, args.study);
  const auto trials = store->trials(study.id);
  if (args.format == "csv") {
    write_output(args.output, [&](std::ostream& out) { write_trials_csv(study, trials, out); });
  } else if (args.format == "json") {
    write_output(args.output, [&](std::ostream& out) { out << trials_document(study, trials).dump(2) << "\n"; });
  } else if (args.format == "optuna-journal") {
    const SearchSpace space = study_space(study);
    write_output(args.output, [&](std::ostream& out) { write_optuna_journal(study, space, trials, out); });
  } else {
    throw ConfigError("--format", "expected csv, json or optuna-journal, got \"" + args.format + "\"");
  }
  if (!args.output.empty() && args.output != "-") {
    std::cout << "Wrote " << trials.size() << " trials of study " << study.name << " to " << args.output << " ("
              << args.format << ")" << std::endl;
    if (args.format == "optuna-journal")
      std::cout << "Open it in Optuna >= 3.1:\n  import optuna\n"
                << "  storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(\"" << args.output
                << "\"))\n  study = optuna.load_study(study_name=\"" << study.name << "\", storage=storage)" << std::endl;
  }
  return 0;
}

ResultCommands::ResultCommands(CLI::App& app) {
  report_ = app.add_subcommand("report", "Write a self-contained HTML report of a study (plots and the ranked table)");
  report_->add_option("--storage", report_args_.storage, "Study store URL")->required();
  report_->add_option("--study", report_args_.study, "Study name")->required();
  report_->add_option("-o,--output", report_args_.output, "The HTML file to write (default: STUDY.html; - for stdout)");
  report_->footer(R"(
The page holds the optimization history with the running best, the Pareto front (multi-objective
studies), a parallel-coordinates plot, parameter importances (permutation importance on a random
forest fitted to the trials), learning curves with pruned trials marked, and the ranked trials.
Apache ECharts is embedded in the page: it opens offline and can be mailed or attached as is.
Example:
  lepton report --storage sqlite:///lepton.db --study breast-cancer-mlp -o report.html)");

  compare_ = app.add_subcommand("compare", "Compare two studies: best values, convergence and best parameters");
  compare_->add_option("--storage", compare_args_.storage, "Study store URL")->required();
  compare_->add_option("--storage-b", compare_args_.storage_b, "Store of STUDY_B when it is elsewhere (default: --storage)");
  compare_->add_option("STUDY_A", compare_args_.study_a, "First study")->required();
  compare_->add_option("STUDY_B", compare_args_.study_b, "Second study")->required();
  compare_->add_flag("--json", compare_args_.json, "Print one JSON document");
  compare_->footer(R"(
Compares the objectives both studies share: each study's best value (* marks the better), after how
many trials and how much time it was found, the best value within the first N trials (convergence),
and the best trials' parameters.
Example:
  lepton compare --storage sqlite:///lepton.db breast-cancer-random breast-cancer-tpe)");

  export_ = app.add_subcommand("export-trials", "Export a study's trials as CSV, JSON or an Optuna journal file");
  export_->add_option("--storage", export_args_.storage, "Study store URL")->required();
  export_->add_option("--study", export_args_.study, "Study name")->required();
  export_->add_option("--format", export_args_.format, "csv (default), json or optuna-journal")
      ->check(CLI::IsMember({"csv", "json", "optuna-journal"}));
  export_->add_option("-o,--output", export_args_.output, "File to write (default: stdout); replaced if it exists");
  export_->footer(R"(
csv: one row per trial (values_*, params_*, metrics_*, attrs_*, times) for pandas or a spreadsheet.
json: {"study": ..., "trials": [...]} with every stored field, as `lepton trials --json` prints them.
optuna-journal: a file Optuna's JournalStorage opens (Optuna >= 3.1) with the same trials, params and
  their distributions, values, states and per-epoch values; metrics become user attrs.
Examples:
  lepton export-trials --storage sqlite:///lepton.db --study breast-cancer-mlp --format csv -o trials.csv
  lepton export-trials --storage sqlite:///lepton.db --study breast-cancer-mlp --format optuna-journal -o study.log)");
}

std::optional<int> ResultCommands::run() const {
  if (*report_) return report_command(report_args_);
  if (*compare_) return compare_command(compare_args_);
  if (*export_) return export_trials_command(export_args_);
  return std::nullopt;
}

}  // namespace lepton::cli
