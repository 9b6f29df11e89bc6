// NSGA-II (Deb et al. 2002) for one or more objectives: generations of `population` trials;
// parents are the best of the previous parents and offspring by non-dominated rank, then crowding
// distance; children come from binary tournaments, SBX crossover and polynomial mutation, decoded
// so that conditions hold. Which trials belong to which generation is the state the engine
// persists, so a resumed study carries on with the same generation.
#include <lepton/lepton.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace {

using lepton::json;

struct Options {
  int population = 20;
  double crossover_prob = 0.9;
  std::optional<double> mutation_prob;  // default: 1 / dimensions
  double eta_crossover = 15;
  double eta_mutation = 20;
};

Options read_options(const json& options) {
  lepton::ConfigObject cfg(options, "search.options");
  Options o;
  o.population = static_cast<int>(cfg.integer_in("population", 2, 100'000, 20));
  o.crossover_prob = cfg.number_in("crossover_prob", 0.0, 1.0, 0.9);
  if (cfg.has("mutation_prob")) o.mutation_prob = cfg.number_in("mutation_prob", 0.0, 1.0, std::nullopt);
  o.eta_crossover = cfg.number_in("eta_crossover", 0.0, 1000.0, 15.0);
  o.eta_mutation = cfg.number_in("eta_mutation", 0.0, 1000.0, 20.0);
  cfg.finish();
  return o;
}

// Simulated binary crossover of one variable in [0, 1] (Deb and Agrawal 1995, bounded form).
std::pair<double, double> sbx(double a, double b, double eta, lepton::Rng& rng) {
  if (std::fabs(a - b) < 1e-14) return {a, b};
  const double y1 = std::min(a, b), y2 = std::max(a, b);
  const double u = lepton::uniform01(rng);
  auto child = [&](double beta) {
    const double alpha = 2.0 - std::pow(beta, -(eta + 1.0));
    const double q = u <= 1.0 / alpha ? std::pow(u * alpha, 1.0 / (eta + 1.0))
                                      : std::pow(1.0 / (2.0 - u * alpha), 1.0 / (eta + 1.0));
    return q;
  };
  const double q1 = child(1.0 + 2.0 * y1 / (y2 - y1));
  const double q2 = child(1.0 + 2.0 * (1.0 - y2) / (y2 - y1));
  double c1 = std::clamp(0.5 * ((y1 + y2) - q1 * (y2 - y1)), 0.0, 1.0);
  double c2 = std::clamp(0.5 * ((y1 + y2) + q2 * (y2 - y1)), 0.0, 1.0);
  if (lepton::uniform01(rng) < 0.5) std::swap(c1, c2);
  return {c1, c2};
}

// Polynomial mutation of one variable in [0, 1] (Deb's bounded form).
double polynomial_mutation(double x, double eta, lepton::Rng& rng) {
  const double u = lepton::uniform01(rng);
  const double power = 1.0 / (eta + 1.0);
  double delta;
  if (u < 0.5) {
    const double v = 2.0 * u + (1.0 - 2.0 * u) * std::pow(1.0 - x, eta + 1.0);
    delta = std::pow(v, power) - 1.0;
  } else {
    const double v = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * std::pow(x, eta + 1.0);
    delta = 1.0 - std::pow(v, power);
  }
  return std::clamp(x + delta, 0.0, 1.0);
}

class Nsga2Searcher final : public lepton::Searcher {
 public:
  Nsga2Searcher(const lepton::SearcherSetup& setup, Options options)
      : encoder_(setup.space), directions_(setup.directions), options_(options) {
    if (setup.state.is_object()) {
      generation_ = setup.state.value("generation", 0);
      parents_ = setup.state.value("parents", std::vector<int>{});
      members_ = setup.state.value("members", std::vector<int>{});
    }
  }

  lepton::Params suggest(const lepton::SearchContext& context) override {
    const auto& trials = context.history();
    advance(trials);
    lepton::Rng rng(context.seed);
    members_.push_back(context.trial_number);
    std::vector<const lepton::TrialView*> parents;
    for (const int p : parents_)
      if (const auto* t = find(trials, p); usable(t)) parents.push_back(t);
    if (parents.empty()) return encoder_.space().sample(rng);  // the first generation is random

    // Parents' rank and crowding, for the binary tournaments.
    std::vector<std::vector<double>> losses;
    for (const auto* t : parents) losses.push_back(loss(*t));
    std::vector<int> rank(parents.size(), 0);
    std::vector<double> crowding(parents.size(), 0.0);
    const auto fronts = lepton::non_dominated_fronts(losses);
    for (std::size_t f = 0; f < fronts.size(); ++f) {
      const auto distance = lepton::crowding_distance(losses, fronts[f]);
      for (std::size_t j = 0; j < fronts[f].size(); ++j) {
        rank[fronts[f][j]] = static_cast<int>(f);
        crowding[fronts[f][j]] = distance[j];
      }
    }
    auto tournament = [&]() {
      const auto n = static_cast<std::int64_t>(parents.size());
      const auto a = static_cast<std::size_t>(lepton::uniform_int(rng, 0, n - 1));
      const auto b = static_cast<std::size_t>(lepton::uniform_int(rng, 0, n - 1));
      if (rank[a] != rank[b]) return rank[a] < rank[b] ? a : b;
      return crowding[b] > crowding[a] ? b : a;
    };
    const std::size_t first = tournament(), second = tournament();
    std::vector<double> x = encoder_.encode(parents[first]->params);
    const std::vector<double> other = encoder_.encode(parents[second]->params);
    crossover(x, other, rng);
    mutate(x, rng);
    return encoder_.decode(x, &rng);
  }

  json state() const override {
    return {{"generation", generation_}, {"parents", parents_}, {"members", members_}};
  }

 private:
  static const lepton::TrialView* find(const std::vector<lepton::TrialView>& trials, int number) {
    const auto it = std::lower_bound(trials.begin(), trials.end(), number,
                                     [](const lepton::TrialView& t, int n) { return t.number < n; });
    return it != trials.end() && it->number == number ? &*it : nullptr;
  }

  bool usable(const lepton::TrialView* t) const {
    if (!t || t->state != lepton::TrialState::kComplete || t->values.size() < directions_.size()) return false;
    return std::all_of(t->values.begin(), t->values.begin() + static_cast<std::ptrdiff_t>(directions_.size()),
                       [](double v) { return std::isfinite(v); });
  }

  std::vector<double> loss(const lepton::TrialView& t) const {
    return lepton::to_minimization(
        std::vector<double>(t.values.begin(), t.values.begin() + static_cast<std::ptrdiff_t>(directions_.size())),
        directions_);
  }

  // Closes the current generation once `population` of its trials are complete: the next parents
  // are the best `population` of parents and offspring (elitism), by front, then crowding.
  void advance(const std::vector<lepton::TrialView>& trials) {
    for (;;) {
      std::vector<int> complete;
      for (const int m : members_)
        if (usable(find(trials, m))) complete.push_back(m);
      if (complete.size() < static_cast<std::size_t>(options_.population)) return;
      std::vector<int> pool;
      for (const int p : parents_)
        if (usable(find(trials, p))) pool.push_back(p);
      pool.insert(pool.end(), complete.begin(), complete.end());
      std::vector<std::vector<double>> losses;
      for (const int p : pool) losses.push_back(loss(*find(trials, p)));
      std::vector<int> next;
      for (const auto& front : lepton::non_dominated_fronts(losses, static_cast<std::size_t>(options_.population))) {
        std::vector<std::size_t> order(front.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        if (next.size() + front.size() > static_cast<std::size_t>(options_.population)) {
          const auto crowding = lepton::crowding_distance(losses, front);
          std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return crowding[a] > crowding[b]; });
        }
        for (std::size_t j = 0; j < order.size() && next.size() < static_cast<std::size_t>(options_.population); ++j)
          next.push_back(pool[front[order[j]]]);
      }
      std::sort(next.begin(), next.end());
      parents_ = std::move(next);
      members_.clear();
      ++generation_;
    }
  }

  // SBX on numeric dimensions and uniform swaps on categorical ones, with probability crossover_prob.
  // A dimension one parent lacks (inactive there) comes from the other.
  void crossover(std::vector<double>& x, const std::vector<double>& other, lepton::Rng& rng) const {
    const bool cross = lepton::uniform01(rng) < options_.crossover_prob;
    const auto& params = encoder_.space().params();
    for (std::size_t d = 0; d < x.size(); ++d) {
      if (std::isnan(x[d])) {
        x[d] = other[d];
        continue;
      }
      if (!cross || std::isnan(other[d]) || lepton::uniform01(rng) >= 0.5) continue;
      if (params[encoder_.dimensions()[d].param].numeric()) {
        x[d] = sbx(x[d], other[d], options_.eta_crossover, rng).first;
      } else {
        x[d] = other[d];
      }
    }
  }

  // Polynomial mutation on numbers, a random choice for categoricals, each with mutation_prob.
  void mutate(std::vector<double>& x, lepton::Rng& rng) const {
    const double prob = options_.mutation_prob.value_or(1.0 / static_cast<double>(std::max<std::size_t>(x.size(), 1)));
    const auto& params = encoder_.space().params();
    for (std::size_t d = 0; d < x.size(); ++d) {
      if (std::isnan(x[d]) || lepton::uniform01(rng) >= prob) continue;
      if (params[encoder_.dimensions()[d].param].numeric()) {
        x[d] = polynomial_mutation(x[d], options_.eta_mutation, rng);
      } else {
        x[d] = lepton::uniform01(rng);  // any choice, uniformly
      }
    }
  }

  lepton::SpaceEncoder encoder_;
  std::vector<lepton::Direction> directions_;
  Options options_;
  int generation_ = 0;
  std::vector<int> parents_, members_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    return std::make_unique<Nsga2Searcher>(setup, read_options(setup.options));
  });
}
