// `lepton report`, `lepton compare` and `lepton export-trials`: read the store, never write it.
#include "cli/result_commands.hpp"

#include "cli/commands.hpp"
#include "report/convergence.hpp"
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

// ---- compare ------------------------------------------------------------------------------

struct StudySide {
  std::string storage;
  StudyRecord study;
  std::vector<TrialRecord> trials;
  std::string searcher;
  double first_start = 0, last_end = 0;
};

StudySide load_side(const std::string& storage, const std::string& name) {
  StudySide side;
  auto store = open_store(storage, OpenMode::kExisting);
  side.storage = store->url();
  side.study = require_study(*store, name);
  side.trials = store->trials(side.study.id);
  const json& e = side.study.spec.value("experiment", json::object());
  side.searcher = e.contains("search") ? e["search"].value("searcher", "random") : "?";
  for (const auto& t : side.trials) {
    if (t.started_at > 0 && (side.first_start == 0 || t.started_at < side.first_start)) side.first_start = t.started_at;
    side.last_end = std::max(side.last_end, t.finished_at);
  }
  return side;
}

int count_state(const std::vector<TrialRecord>& trials, TrialState state) {
  return static_cast<int>(std::count_if(trials.begin(), trials.end(), [&](const TrialRecord& t) { return t.state == state; }));
}

// 1, 2, 5, 10, 20, 50, ... below `most`, then `most` itself.
std::vector<int> checkpoints(int most) {
  std::vector<int> out;
  for (int scale = 1; scale < most; scale *= 10)
    for (const int m : {1, 2, 5})
      if (m * scale < most) out.push_back(m * scale);
  if (most > 0) out.push_back(most);
  return out;
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

struct BestFound {
  double value = NAN;
  int number = -1;
  double after_s = NAN;  ///< from the study's first trial start to this trial's end
};

BestFound best_found(const StudySide& side, const Convergence& c) {
  BestFound b;
  if (c.empty()) return b;
  b.value = c.best.back();
  b.number = c.best_number.back();
  for (const auto& t : side.trials)
    if (t.number == b.number && t.finished_at > 0) b.after_s = t.finished_at - side.first_start;
  return b;
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
  const StudySide a = load_side(args.storage, args.study_a);
  const StudySide b = load_side(storage_b, args.study_b);

  // Objectives both studies have, in A's order.
  std::vector<std::pair<std::size_t, std::size_t>> shared;  // index in A, index in B
  for (std::size_t i = 0; i < a.study.objectives.size(); ++i)
    for (std::size_t j = 0; j < b.study.objectives.size(); ++j)
      if (a.study.objectives[i].metric == b.study.objectives[j].metric &&
          a.study.objectives[i].direction == b.study.objectives[j].direction)
        shared.emplace_back(i, j);
  if (shared.empty()) {
    auto list = [](const StudyRecord& s) {
      std::string text;
      for (const auto& o : s.objectives) text += (text.empty() ? "" : ", ") + o.metric + " (" + to_string(o.direction) + ")";
      return text;
    };
    throw ConfigError("STUDY_B", "studies " + a.study.name + " and " + b.study.name +
                                     " share no objective: " + list(a.study) + " vs " + list(b.study));
  }

  std::vector<Convergence> conv_a, conv_b;
  std::vector<BestFound> best_a, best_b;
  for (const auto& [i, j] : shared) {
    conv_a.push_back(convergence(a.trials, i, a.study.objectives[i].direction));
    conv_b.push_back(convergence(b.trials, j, b.study.objectives[j].direction));
    best_a.push_back(best_found(a, conv_a.back()));
    best_b.push_back(best_found(b, conv_b.back()));
  }
  auto trial_total = [](const StudySide& s) {
    int most = 0;
    for (const auto& t : s.trials) most = std::max(most, t.number + 1);
    return most;
  };
  const std::vector<int> marks = checkpoints(std::max(trial_total(a), trial_total(b)));
  const auto best_a_trial = best_trial(a.trials, a.study.objectives);
  const auto best_b_trial = best_trial(b.trials, b.study.objectives);

  if (args.json) {
    json objectives = json::array();
    for (const auto& [i, j] : shared)
      objectives.push_back({{"metric", a.study.objectives[i].metric}, {"direction", to_string(a.study.objectives[i].direction)}});
    auto side_json = [&](const StudySide& s, const std::vector<BestFound>& best, const std::optional<TrialRecord>& top) {
      json bests = json::object();
      for (std::size_t k = 0; k < shared.size(); ++k)
        bests[a.study.objectives[shared[k].first].metric] = {{"value", number_or_null(best[k].value)},
                                                             {"number", best[k].number < 0 ? json(nullptr) : json(best[k].number)},
                                                             {"after_trials", best[k].number < 0 ? json(nullptr) : json(best[k].number + 1)},
                                                             {"after_s", number_or_null(best[k].after_s)}};
      return json{{"name", s.study.name},
                  {"storage", s.storage},
                  {"searcher", s.searcher},
                  {"trials", s.trials.size()},
                  {"states",
                   {{"COMPLETE", count_state(s.trials, TrialState::kComplete)},
                    {"PRUNED", count_state(s.trials, TrialState::kPruned)},
                    {"FAIL", count_state(s.trials, TrialState::kFail)},
                    {"RUNNING", count_state(s.trials, TrialState::kRunning)}}},
                  {"elapsed_s", s.last_end > 0 ? number_or_null(s.last_end - s.first_start) : json(nullptr)},
                  {"best", bests},
                  {"best_params", top ? top->params : json(nullptr)}};
    };
    json curve = json::array();
    for (const int m : marks) {
      json va = json::object(), vb = json::object();
      for (std::size_t k = 0; k < shared.size(); ++k) {
        const std::string& metric = a.study.objectives[shared[k].first].metric;
        va[metric] = number_or_null(conv_a[k].best_within(m));
        vb[metric] = number_or_null(conv_b[k].best_within(m));
      }
      curve.push_back({{"trials", m}, {"a", va}, {"b", vb}});
    }
    std::cout << json{{"objectives", objectives},
                      {"a", side_json(a, best_a, best_a_trial)},
                      {"b", side_json(b, best_b, best_b_trial)},
                      {"convergence", curve}}
                     .dump(2)
              << std::endl;
    return 0;
  }

  const std::string name_a = a.study.name, name_b = b.study.name == a.study.name ? b.study.name + " (B)" : b.study.name;
  std::cout << "Comparing " << name_a << " (" << a.storage << ") with " << name_b << " (" << b.storage << ")\n\n";
  TextTable summary({"", name_a, name_b});
  summary.add_row({"searcher", a.searcher, b.searcher});
  summary.add_row({"trials", std::to_string(a.trials.size()), std::to_string(b.trials.size())});
  auto states = [](const StudySide& s) {
    return std::to_string(count_state(s.trials, TrialState::kComplete)) + " / " +
           std::to_string(count_state(s.trials, TrialState::kPruned)) + " / " +
           std::to_string(count_state(s.trials, TrialState::kFail));
  };
  summary.add_row({"complete / pruned / failed", states(a), states(b)});
  for (std::size_t k = 0; k < shared.size(); ++k) {
    const Objective& o = a.study.objectives[shared[k].first];
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
                     best_text(best_a[k], best_b[k]), best_text(best_b[k], best_a[k])});
    summary.add_row({"  found after", found_text(best_a[k]), found_text(best_b[k])});
  }
  auto elapsed = [](const StudySide& s) { return s.last_end > 0 ? format_duration(s.last_end - s.first_start) : "-"; };
  summary.add_row({"wall time", elapsed(a), elapsed(b)});
  summary.print(std::cout);
  std::cout << "(* the better of the two)\n";

  std::cout << "\nConvergence: the best value within the first N trials\n";
  std::vector<std::string> header{"N"};
  for (const auto& [i, j] : shared) {
    header.push_back(a.study.objectives[i].metric + " " + name_a);
    header.push_back(a.study.objectives[i].metric + " " + name_b);
  }
  TextTable curve(header);
  for (const int m : marks) {
    std::vector<std::string> row{std::to_string(m)};
    for (std::size_t k = 0; k < shared.size(); ++k) {
      row.push_back(format_number(conv_a[k].best_within(m), 6));
      row.push_back(format_number(conv_b[k].best_within(m), 6));
    }
    curve.add_row(std::move(row));
  }
  curve.print(std::cout);

  if (best_a_trial || best_b_trial) {
    std::cout << "\nBest trials' parameters\n";
    std::vector<std::string> names;
    for (const auto* t : {best_a_trial ? &*best_a_trial : nullptr, best_b_trial ? &*best_b_trial : nullptr})
      if (t)
        for (const auto& item : t->params.items())
          if (std::find(names.begin(), names.end(), item.key()) == names.end()) names.push_back(item.key());
    TextTable params({"parameter", name_a, name_b});
    auto cell = [](const std::optional<TrialRecord>& t, const std::string& name) {
      return t && t->params.contains(name) ? format_value(t->params[name]) : std::string("-");
    };
    for (const auto& n : names) params.add_row({n, cell(best_a_trial, n), cell(best_b_trial, n)});
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
