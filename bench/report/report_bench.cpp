// bench/report: `lepton report` on a 10,000-trial study, and the time its page takes to be ready in
// headless Chromium, beside Optuna 3.1's own HTML plots (optuna.visualization with plotly, fANOVA
// importances) for the same trials, read from the journal `lepton export-trials` writes.
//
//   build/bin/bench_report [--trials 10000] [--runs 3] [--no-peer] [--fanova-limit 120] [--keep DIR]
//
// The study is made by the real engine (quickstart space, random searcher, SQLite store) with a
// synthetic objective: per-epoch accuracy curves shaped by the parameters, 30 epochs, trials below
// 0.8 at epoch 5 pruned, unstable SGD settings failing, so every plot has real work to do.
#include "plugins/registry.hpp"
#include "report/html_report.hpp"
#include "report/importance.hpp"
#include "run/study.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace lepton::engine;
using lepton::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? NAN : v[v.size() / 2];
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command; returns its stdout, or throws with the command when it fails.
std::string capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::string out;
  char buffer[4096];
  while (fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
  if (pclose(pipe.release()) != 0) throw std::runtime_error("failed: " + command + "\n" + out);
  return out;
}

class Quiet final : public ProgressSink {};

// A learning curve from the parameters: the plateau depends mostly on lr, then on the optimizer
// (SGD without momentum is worse), dropout, depth and width; the speed on lr.
TrialResult synthetic_trial(const TrialRecord& trial, const std::function<bool(int, double)>& report, int epochs) {
  const json& p = trial.params;
  lepton::Rng rng(trial.seed);
  const double lr = p["lr"].get<double>(), dropout = p["dropout"].get<double>();
  const std::string optimizer = p["optimizer"].get<std::string>();
  const double momentum = p.value("momentum", 0.0);
  const int layers = p["layers"].get<int>(), hidden = p["hidden"].get<int>();
  if (optimizer == "sgd" && lr > 0.05 && momentum > 0.9)
    return TrialResult{lepton::TrialState::kFail, {}, {}, "loss is NaN or infinite at epoch 3 (diverged)", json::object()};
  const double plateau = 0.975 - 0.035 * std::pow(std::log10(lr) + 2.3, 2) - 0.03 * dropout -
                         (optimizer == "sgd" ? 0.04 * (1 - momentum) : 0.0) - 0.006 * std::abs(layers - 2) +
                         0.004 * std::log2(hidden / 16.0) + 0.004 * lepton::normal01(rng);
  const double tau = std::clamp(0.08 / lr, 1.5, 15.0);
  double accuracy = 0.5;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    accuracy = plateau - (plateau - 0.5) * std::exp(-epoch / tau) + 0.003 * lepton::normal01(rng);
    report(epoch, accuracy);
    if (epoch == 5 && accuracy < 0.7)
      return TrialResult{lepton::TrialState::kPruned, {}, {}, "", json{{"pruned_at_epoch", epoch}}};
  }
  return TrialResult{lepton::TrialState::kComplete,
                     {accuracy},
                     {{"val_accuracy", accuracy}, {"test_accuracy", accuracy - 0.01 + 0.005 * lepton::normal01(rng)},
                      {"val_loss", 1.0 - accuracy}},
                     "",
                     json::object()};
}

// Makes (or reuses) the study; returns its storage URL.
std::string make_study(const std::string& dir, int trials) {
  const std::string url = "sqlite:///" + dir + "/report.db";
  Registry registry;
  registry.load_default();
  auto experiment = load_experiment(std::string(LEPTON_SOURCE_DIR) + "/experiments/quickstart.json");
  auto prepared = prepare_experiment(experiment, registry);
  const int epochs = prepared.experiment.task.settings.value("epochs", 30);
  auto store = open_store(url);
  if (auto existing = store->find_study("report-bench"); existing && static_cast<int>(store->trials(existing->id).size()) >= trials)
    return url;
  std::cerr << "making a " << trials << "-trial study in " << dir << " (once; --keep reuses it)..." << std::endl;
  Quiet quiet;
  const auto start = Clock::now();
  const Evaluator evaluator = [epochs](const TrialRecord& t, const std::function<bool(int, double)>& report) {
    return synthetic_trial(t, report, epochs);
  };
  run_study(prepared, *store, registry, RunOptions{trials, 1}, quiet, "report-bench", evaluator);
  std::cerr << "  made in " << seconds_since(start) << " s" << std::endl;
  return url;
}

struct PageTiming {
  double ready_s = NAN;
  bool ok = false;
  std::string problem;
};

// Opens `file` in headless Chromium `runs` times (tests/tools/check_report.cjs); the median time
// from navigation to the page's readiness (`ready_js`, empty: the report's own signal), at most
// `timeout_s` each.
PageTiming open_page(const std::string& file, const std::string& out_dir, const std::string& ready_js, int runs,
                     int timeout_s) {
  PageTiming timing;
  std::vector<double> times;
  std::string command = "NODE_PATH=" + shell_quote(std::string(LEPTON_SOURCE_DIR) + "/web/node_modules") +
                        " LEPTON_PAGE_TIMEOUT_MS=" + std::to_string(timeout_s * 1000);
  if (!ready_js.empty()) command += " LEPTON_READY_JS=" + shell_quote(ready_js);
  command += " node " + shell_quote(std::string(LEPTON_SOURCE_DIR) + "/tests/tools/check_report.cjs") + " " +
             shell_quote(out_dir) + " " + shell_quote(file);
  for (int i = 0; i < runs; ++i) {
    const json result = json::parse(capture(command));
    const json& page = result["pages"][0];
    if (!page["ready"].get<bool>()) {
      timing.problem = "not ready within " + std::to_string(timeout_s) + " s";
      return timing;
    }
    times.push_back(page["readyMs"].get<double>() / 1000.0);
    if (!page["consoleErrors"].empty() || !page["pageErrors"].empty())
      timing.problem = "errors: " + page["consoleErrors"].dump() + " " + page["pageErrors"].dump();
  }
  timing.ready_s = median(times);
  timing.ok = timing.problem.empty();
  return timing;
}

std::string cell(double v, int precision = 2) {
  if (!std::isfinite(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", precision, v);
  return b;
}
std::string ratio(double theirs, double ours) { return ours > 0 && theirs > 0 ? cell(theirs / ours, 1) + "x" : "-"; }

}  // namespace

int main(int argc, char** argv) {
  int trials = 10000, runs = 3, fanova_limit = 120;
  bool with_peer = true;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--trials" && i + 1 < argc) trials = std::atoi(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--keep" && i + 1 < argc) keep = argv[++i];
    else if (a == "--no-peer") with_peer = false;
    else if (a == "--fanova-limit" && i + 1 < argc) fanova_limit = std::atoi(argv[++i]);
    else {
      std::cerr << "usage: bench_report [--trials 10000] [--runs 3] [--no-peer] [--fanova-limit 120] [--keep DIR]\n";
      return 2;
    }
  }
  std::string dir = keep;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path() / "lepton-bench-report-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
  }
  fs::create_directories(dir);
  const std::string url = make_study(dir, trials);

  // In-process breakdown (one run), then the real command `runs` times.
  auto store = open_store(url, OpenMode::kExisting);
  const auto study = *store->find_study("report-bench");
  auto start = Clock::now();
  const auto all = store->trials(study.id);
  const double load_s = seconds_since(start);
  start = Clock::now();
  const json data = report_data(study, all, {url, 0});
  const double data_s = seconds_since(start);
  start = Clock::now();
  param_importances(study_space(study), all, study.objectives, 0);
  const double importance_s = seconds_since(start);
  start = Clock::now();
  std::ostringstream page;
  write_html_report(data, page);
  const double write_s = seconds_since(start);
  int complete = 0, pruned = 0, failed = 0;
  for (const auto& t : all) {
    complete += t.state == lepton::TrialState::kComplete;
    pruned += t.state == lepton::TrialState::kPruned;
    failed += t.state == lepton::TrialState::kFail;
  }

  const std::string ours_html = dir + "/lepton-report.html";
  std::vector<double> report_times;
  for (int i = 0; i < runs; ++i) {
    start = Clock::now();
    capture(shell_quote(LEPTON_BIN) + " report --storage " + shell_quote(url) + " --study report-bench -o " + shell_quote(ours_html));
    report_times.push_back(seconds_since(start));
  }
  const double ours_report_s = median(report_times);
  std::cerr << "lepton report: " << ours_report_s << " s; opening it in Chromium..." << std::endl;
  const PageTiming ours_page = open_page(ours_html, dir + "/screenshots", "", runs, 30);

  json peer_times;
  double peer_wall_s = NAN, export_s = NAN;
  PageTiming peer_page;
  const std::string peer_html = dir + "/optuna-plots.html";
  if (with_peer) {
    const std::string journal = dir + "/report-bench.log";
    start = Clock::now();
    capture(shell_quote(LEPTON_BIN) + " export-trials --storage " + shell_quote(url) +
            " --study report-bench --format optuna-journal -o " + shell_quote(journal));
    export_s = seconds_since(start);
    std::cerr << "Optuna 3.1 plots of the same trials (fANOVA gets " << fanova_limit << " s)..." << std::endl;
    start = Clock::now();
    peer_times = json::parse(capture("/usr/bin/python3 " + shell_quote(LEPTON_PEER_SCRIPT) + " " + shell_quote(journal) +
                                     " report-bench " + shell_quote(peer_html) + " " + std::to_string(fanova_limit)));
    peer_wall_s = seconds_since(start);
    const std::string plotly_ready =
        "(() => { const p = document.querySelectorAll('.js-plotly-plot'); return p.length >= 4 && "
        "Array.from(p).every((e) => e.querySelector('.main-svg')); })()";
    // Once: at 10,000 trials plotly needs most of a minute.
    peer_page = open_page(peer_html, dir + "/screenshots", plotly_ready, 1, 300);
  }
  auto peer_value = [&](const char* key) {
    return peer_times.is_object() && peer_times[key].is_number() ? peer_times[key].get<double>() : NAN;
  };
  auto size_mb = [](const std::string& f) { return fs::exists(f) ? static_cast<double>(fs::file_size(f)) / 1e6 : NAN; };
  const bool fanova_cut = peer_times.is_object() && peer_times["fanova_s"].is_null();
  const std::string evaluator = peer_times.is_object() ? peer_times.value("importance_evaluator", "?") : "-";
  const double ours_in_process = load_s + data_s + write_s;

  std::printf("\nStudy: %zu trials (%d complete, %d pruned, %d failed), 30 epochs each until pruned; %s\n", all.size(),
              complete, pruned, failed, url.c_str());
  std::printf("\n| measurement | Lepton | Optuna 3.1 + plotly 5.4 | Lepton advantage |\n|---|---:|---:|---:|\n");
  std::printf("| every plot computed and the page written, in process (s) | %s | %s%s | %s |\n", cell(ours_in_process).c_str(),
              cell(peer_value("total_s")).c_str(), (fanova_cut ? " (importances by " + evaluator + ")" : std::string()).c_str(),
              ratio(peer_value("total_s"), ours_in_process).c_str());
  std::printf("| of which parameter importances (s) | %s | %s | %s |\n", cell(importance_s).c_str(),
              fanova_cut ? ("fANOVA unfinished after " + cell(peer_value("fanova_limit_s"), 0)).c_str()
                         : cell(peer_value("fanova_s")).c_str(),
              fanova_cut ? (">" + cell(peer_value("fanova_limit_s") / importance_s, 0) + "x").c_str()
                         : ratio(peer_value("fanova_s"), importance_s).c_str());
  std::printf("| whole command, median of %d (s) | %s | %s | %s |\n", runs, cell(ours_report_s).c_str(),
              fanova_cut ? "-" : cell(peer_wall_s).c_str(), fanova_cut ? "-" : ratio(peer_wall_s, ours_report_s).c_str());
  std::printf("| page ready in headless Chromium (s; Lepton: median of %d, Optuna: once) | %s | %s | %s |\n", runs,
              cell(ours_page.ready_s).c_str(),
              cell(peer_page.ready_s).c_str(), ratio(peer_page.ready_s, ours_page.ready_s).c_str());
  std::printf("| page size (MB) | %s | %s | |\n", cell(size_mb(ours_html)).c_str(), cell(size_mb(peer_html)).c_str());
  std::printf("\nBreakdown, Lepton (in process): load trials %s s, plot data with importances %s s (importances alone "
              "%s s), page %s s; export-trials --format optuna-journal %s s\n",
              cell(load_s).c_str(), cell(data_s).c_str(), cell(importance_s).c_str(), cell(write_s).c_str(),
              cell(export_s).c_str());
  if (peer_times.is_object())
    std::printf("Breakdown, Optuna (in process): load journal %s s, history %s s, parallel coordinates %s s, importances "
                "(%s) %s s, intermediate values %s s, write %s s\n",
                cell(peer_value("load_s")).c_str(), cell(peer_value("history_s")).c_str(), cell(peer_value("parallel_s")).c_str(),
                evaluator.c_str(), cell(peer_value("importance_s")).c_str(), cell(peer_value("curves_s")).c_str(),
                cell(peer_value("write_s")).c_str());
  if (!ours_page.ok) std::printf("Lepton page problem: %s\n", ours_page.problem.c_str());
  if (with_peer && !peer_page.ok) std::printf("Optuna page problem: %s\n", peer_page.problem.c_str());
  const bool pass = ours_report_s < 5.0 && ours_page.ok && ours_page.ready_s < 3.0;
  std::printf("\nBars: report under 5 s (%s s), page ready under 3 s (%s s): %s\n", cell(ours_report_s).c_str(),
              cell(ours_page.ready_s).c_str(), pass ? "met" : "NOT met");
  if (keep.empty()) fs::remove_all(dir);
  return pass ? 0 : 1;
}
