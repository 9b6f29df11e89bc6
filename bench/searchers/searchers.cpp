// bench/searchers: Lepton's searcher plugins (loaded through the engine's Registry, driven through
// Searcher::suggest in-process) beside Optuna 3.1's TPE, CMA-ES and random samplers on Branin,
// Hartmann-6, Rosenbrock-10 and a mixed conditional function: best value after 50/100/200 trials
// (median and IQR over seeds) and the time per proposal at 100, 1,000 and 2,000 trials.
//
//   build/bin/bench_searchers [--seeds 10] [--trials 200] [--timing-trials 2000]
//                             [--problems branin,hartmann6,rosenbrock10,mixed]
//                             [--searchers tpe,gp,cmaes,evolution,nsga2,grid,random]
//                             [--options NAME=JSON]... [--no-peer]
#include "plugins/registry.hpp"
#include "problems.hpp"

#include <lepton/lepton.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <time.h>

using lepton::json;

namespace {

// Milliseconds of CPU time of this thread: a proposal's own cost, which other engineers' builds
// on a shared machine inflate far less than wall time (both sides run single-threaded).
double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}

constexpr std::uint64_t kSearcherStream = 2;  // as the engine derives each trial's searcher seed

struct Settings {
  int seeds = 10, trials = 200, timing_trials = 2000;
  std::vector<int> checkpoints{50, 100, 200}, timing_at{100, 1000, 2000};
  std::vector<std::string> problems{"branin", "hartmann6", "rosenbrock10", "mixed"};
  std::vector<std::string> searchers{"tpe", "gp", "cmaes", "evolution", "nsga2", "grid", "random"};
  std::vector<std::string> peers{"tpe", "cmaes", "random"};
  std::map<std::string, json> options;  // search.options per Lepton searcher (--options NAME=JSON)
  bool peer = true;
};

struct Result {
  std::map<int, std::vector<double>> best_at;  // checkpoint -> best value per seed
  std::map<int, double> ms_at;                 // trials -> median proposal time
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// One study of `trials` sequential trials; returns the best value after each trial and the
// milliseconds of each proposal.
std::pair<std::vector<double>, std::vector<double>> run(const lepton::SearcherFactory& factory,
                                                        const lepton::bench::Problem& problem, const json& options,
                                                        std::uint64_t seed, int trials) {
  lepton::SearcherSetup setup;
  setup.space = lepton::SearchSpace::parse(problem.space, "search.space");
  setup.directions = {lepton::Direction::kMinimize};
  setup.seed = seed;
  setup.options = options;
  auto searcher = factory(setup);
  std::vector<lepton::TrialView> history;
  std::vector<double> best, ms;
  for (int t = 0; t < trials; ++t) {
    lepton::SearchContext context;
    context.trial_number = t;
    context.seed = lepton::derive_seed(seed, static_cast<std::uint64_t>(t), kSearcherStream);
    context.trials = &history;
    const double start = thread_cpu_ms();
    lepton::Params params = searcher->suggest(context);
    ms.push_back(thread_cpu_ms() - start);
    if (auto why = setup.space.check(params))
      throw std::runtime_error(problem.name + ": invalid proposal " + params.dump() + ": " + *why);
    lepton::TrialView view;
    view.number = t;
    view.state = lepton::TrialState::kComplete;
    view.values = {problem.value(params)};
    view.params = std::move(params);
    best.push_back(best.empty() ? view.values[0] : std::min(best.back(), view.values[0]));
    history.push_back(std::move(view));
  }
  return {best, ms};
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// The median of the 10 proposals made just before `at` trials had finished.
double median_window(const std::vector<double>& ms, int at) {
  const auto end = std::min<std::size_t>(static_cast<std::size_t>(at), ms.size());
  const auto begin = end >= 10 ? end - 10 : 0;
  return quantile(std::vector<double>(ms.begin() + static_cast<std::ptrdiff_t>(begin), ms.begin() + static_cast<std::ptrdiff_t>(end)), 0.5);
}

Result measure(const lepton::SearcherFactory& factory, const lepton::bench::Problem& problem, const std::string& name,
               const Settings& s) {
  json options = s.options.count(name) ? s.options.at(name) : json::object();
  if (name == "grid" && !options.contains("points")) options["points"] = problem.grid_points;
  Result r;
  for (int seed = 0; seed < s.seeds; ++seed) {
    const auto [best, ms] = run(factory, problem, options, static_cast<std::uint64_t>(seed), s.trials);
    for (const int c : s.checkpoints) r.best_at[c].push_back(best[static_cast<std::size_t>(std::min(c, s.trials) - 1)]);
  }
  if (s.timing_trials > 0) {
    const auto [best, ms] = run(factory, problem, options, 0, s.timing_trials);
    for (const int at : s.timing_at) r.ms_at[at] = median_window(ms, at);
  }
  return r;
}

json peer(const Settings& s) {
  std::string command = "/usr/bin/python3 " + std::string(LEPTON_PEER_SCRIPT) + " --problems " + join(s.problems) +
                        " --samplers " + join(s.peers) + " --seeds " + std::to_string(s.seeds) + " --trials " +
                        std::to_string(s.trials) + " --timing-trials " + std::to_string(s.timing_trials);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
  try {
    return json::parse(out);
  } catch (const std::exception&) {
    std::cerr << "peer failed: " << command << "\n" << out << std::endl;
    return json::object();
  }
}

// The 1-minute load average: timings are only comparable on a quiet machine.
std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one.empty() ? "unknown" : one;
}

std::string number(double v) {
  if (std::isnan(v)) return "-";
  char b[32];
  const double a = std::fabs(v);
  std::snprintf(b, sizeof b, a >= 100 ? "%.0f" : a >= 1 ? "%.4f" : "%.5f", v);
  return b;
}

std::string ms_text(double v) {
  if (std::isnan(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, v >= 10 ? "%.1f" : "%.3f", v);
  return b;
}

// The bars, checked on this run's figures.
void print_bars(const Settings& s, const std::map<std::string, std::map<std::string, Result>>& ours, const json& theirs) {
  auto median_at = [](const std::map<int, std::vector<double>>& best_at, int c) {
    const auto it = best_at.find(c);
    return it == best_at.end() ? std::nan("") : quantile(it->second, 0.5);
  };
  auto peer_median = [&](const std::string& key, int c) {
    if (!theirs.contains(key) || !theirs[key]["best_at"].contains(std::to_string(c))) return std::nan("");
    return quantile(theirs[key]["best_at"][std::to_string(c)].get<std::vector<double>>(), 0.5);
  };
  auto peer_ms = [&](const std::string& key, int at) {
    if (!theirs.contains(key) || !theirs[key]["ms_at"].contains(std::to_string(at))) return std::nan("");
    return theirs[key]["ms_at"][std::to_string(at)].get<double>();
  };
  std::printf("\n### Bars\n\n");
  const int last = s.trials;
  for (const auto& problem : s.problems) {
    std::string best_name, peer_name;
    double best = INFINITY, peer = INFINITY;
    for (const auto& [name, r] : ours.at(problem))
      if (median_at(r.best_at, last) < best) best = median_at(r.best_at, last), best_name = name;
    for (const auto& name : s.peers)
      if (peer_median(problem + "/" + name, last) < peer) peer = peer_median(problem + "/" + name, last), peer_name = name;
    if (peer_name.empty()) continue;
    std::printf("- %s: Lepton's best at %d trials (%s) %s vs Optuna's best (%s) %s: %s\n", problem.c_str(), last,
                best_name.c_str(), number(best).c_str(), peer_name.c_str(), number(peer).c_str(),
                best <= peer ? "met" : "NOT met");
  }
  for (const std::string problem : {"branin", "hartmann6"}) {
    if (!ours.count(problem) || !ours.at(problem).count("gp")) continue;
    const double gp = median_at(ours.at(problem).at("gp").best_at, std::min(100, last));
    const double tpe = peer_median(problem + "/tpe", std::min(100, last));
    if (std::isnan(tpe)) continue;
    std::printf("- %s: gp at 100 trials %s vs Optuna TPE %s: %s\n", problem.c_str(), number(gp).c_str(),
                number(tpe).c_str(), gp < tpe ? "met" : "NOT met");
  }
  const int at = s.timing_at.empty() ? 0 : s.timing_at.back();
  for (const auto& problem : s.problems) {
    if (at == 0 || !ours.at(problem).count("tpe")) continue;
    const double mine = ours.at(problem).at("tpe").ms_at.at(at), peer = peer_ms(problem + "/tpe", at);
    if (!std::isnan(peer))
      std::printf("- %s: TPE proposal at %d trials %s ms vs Optuna %s ms: %.0fx (bar 20x): %s\n", problem.c_str(), at,
                  ms_text(mine).c_str(), ms_text(peer).c_str(), peer / mine, peer / mine >= 20 ? "met" : "NOT met");
    std::string slow;
    for (const auto& [name, r] : ours.at(problem))
      if (r.ms_at.count(at) && r.ms_at.at(at) >= 5.0) slow += " " + name + " (" + ms_text(r.ms_at.at(at)) + " ms)";
    std::printf("- %s: every searcher under 5 ms per proposal at %d trials: %s\n", problem.c_str(), at,
                slow.empty() ? "met" : ("NOT met:" + slow).c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--seeds" && has_value) s.seeds = std::stoi(argv[++i]);
    else if (a == "--trials" && has_value) s.trials = std::stoi(argv[++i]);
    else if (a == "--timing-trials" && has_value) s.timing_trials = std::stoi(argv[++i]);
    else if (a == "--problems" && has_value) s.problems = split(argv[++i]);
    else if (a == "--searchers" && has_value) s.searchers = split(argv[++i]);
    else if (a == "--options" && has_value) {
      const std::string spec = argv[++i];
      const auto eq = spec.find('=');
      if (eq == std::string::npos) {
        std::cerr << "--options takes NAME=JSON, e.g. gp='{\"max_points\": 64}'\n";
        return 2;
      }
      s.options[spec.substr(0, eq)] = json::parse(spec.substr(eq + 1));
    } else if (a == "--no-peer") s.peer = false;
    else {
      std::cerr << "usage: bench_searchers [--seeds N] [--trials N] [--timing-trials N] [--problems a,b] "
                   "[--searchers a,b] [--options NAME=JSON]... [--no-peer]\n";
      return 2;
    }
  }
  s.checkpoints = {std::min(50, s.trials), std::min(100, s.trials), s.trials};
  s.timing_at.erase(std::remove_if(s.timing_at.begin(), s.timing_at.end(), [&](int at) { return at > s.timing_trials; }),
                    s.timing_at.end());
  at::set_num_threads(1);  // like the peer: one core per study
  lepton::engine::Registry registry;
  registry.load_default();

  json theirs = json::object();
  if (s.peer) {
    std::cerr << "running the Optuna peer..." << std::endl;
    theirs = peer(s);
  }
  std::map<std::string, std::map<std::string, Result>> ours;
  for (const auto& problem_name : s.problems) {
    const auto& all = lepton::bench::problems();
    const auto problem = std::find_if(all.begin(), all.end(), [&](const auto& p) { return p.name == problem_name; });
    if (problem == all.end()) {
      std::cerr << "unknown problem " << problem_name << "\n";
      return 2;
    }
    for (const auto& name : s.searchers) {
      std::cerr << "lepton " << name << " on " << problem_name << "..." << std::endl;
      try {
        ours[problem_name][name] = measure(registry.searcher(name), *problem, name, s);
      } catch (const lepton::ConfigError& e) {  // e.g. a grid too large for the space
        std::cerr << "  skipped: " << e.what() << std::endl;
      }
    }
  }

  std::printf("Seeds %d x %d trials; best value: median [IQR]; proposal time: median CPU time of the 10 "
              "proposals before N finished trials (ms). Load average at the end: %s\n",
              s.seeds, s.trials, load_average().c_str());
  for (const auto& problem_name : s.problems) {
    const auto& all = lepton::bench::problems();
    const auto problem = std::find_if(all.begin(), all.end(), [&](const auto& p) { return p.name == problem_name; });
    std::printf("\n### %s (optimum %s)\n\n| searcher |", problem_name.c_str(), number(problem->optimum).c_str());
    for (const int c : s.checkpoints) std::printf(" best @%d |", c);
    for (const int at : s.timing_at) std::printf(" ms @%d |", at);
    std::printf("\n|---|");
    for (std::size_t i = 0; i < s.checkpoints.size() + s.timing_at.size(); ++i) std::printf("---:|");
    std::printf("\n");
    auto print_row = [&](const std::string& label, const std::map<int, std::vector<double>>& best_at,
                         const std::map<int, double>& ms_at) {
      std::printf("| %s |", label.c_str());
      for (const int c : s.checkpoints) {
        const auto it = best_at.find(c);
        const std::vector<double> v = it == best_at.end() ? std::vector<double>{} : it->second;
        std::printf(" %s [%s, %s] |", number(quantile(v, 0.5)).c_str(), number(quantile(v, 0.25)).c_str(),
                    number(quantile(v, 0.75)).c_str());
      }
      for (const int at : s.timing_at) {
        const auto it = ms_at.find(at);
        std::printf(" %s |", ms_text(it == ms_at.end() ? std::nan("") : it->second).c_str());
      }
      std::printf("\n");
    };
    for (const auto& name : s.searchers)
      if (ours[problem_name].count(name)) print_row("lepton " + name, ours[problem_name][name].best_at, ours[problem_name][name].ms_at);
    for (const auto& name : s.peers) {
      const std::string key = problem_name + "/" + name;
      if (!theirs.contains(key)) continue;
      std::map<int, std::vector<double>> best_at;
      std::map<int, double> ms_at;
      for (const auto& [c, values] : theirs[key]["best_at"].items()) best_at[std::stoi(c)] = values.get<std::vector<double>>();
      for (const auto& [at, v] : theirs[key]["ms_at"].items()) ms_at[std::stoi(at)] = v.get<double>();
      print_row("optuna " + name, best_at, ms_at);
    }
  }
  print_bars(s, ours, theirs);
  std::fflush(stdout);
  return 0;
}
