// Regularized (aging) evolution (Real et al. 2019): the population is the most recent completed
// trials, a tournament picks the parent, and a mutation that respects conditions makes the child.
// A pure function of the history and the trial's seed.
#include <lepton/lepton.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

namespace {

using lepton::json;

struct Options {
  int population = 20;
  int tournament = 5;
  double mutation_scale = 0.1;
  std::optional<double> mutation_rate;  // default: one parameter per child on average
};

Options read_options(const json& options) {
  lepton::ConfigObject cfg(options, "search.options");
  Options o;
  o.population = static_cast<int>(cfg.integer_in("population", 2, 1'000'000, 20));
  o.tournament = static_cast<int>(cfg.integer_in("tournament", 1, 1'000'000, 5));
  o.mutation_scale = cfg.number_in("mutation_scale", 1e-6, 1.0, 0.1);
  if (cfg.has("mutation_rate")) o.mutation_rate = cfg.number_in("mutation_rate", 0.0, 1.0, std::nullopt);
  cfg.finish();
  if (o.tournament > o.population)
    throw lepton::ConfigError("search.options.tournament", "the tournament (" + std::to_string(o.tournament) +
                                                               ") cannot be larger than the population (" +
                                                               std::to_string(o.population) + ")");
  return o;
}

// Reflects a value that stepped past 0 or 1 back inside.
double reflect(double u) {
  for (int i = 0; i < 8 && (u < 0.0 || u > 1.0); ++i) u = u < 0.0 ? -u : 2.0 - u;
  return std::clamp(u, 0.0, 1.0);
}

class EvolutionSearcher final : public lepton::Searcher {
 public:
  EvolutionSearcher(const lepton::SearcherSetup& setup, Options options)
      : encoder_(setup.space), direction_(setup.directions.at(0)), options_(options) {}

  lepton::Params suggest(const lepton::SearchContext& context) override {
    const auto& trials = context.history();
    lepton::Rng rng(context.seed);
    // The population: the `population` most recent complete trials (aging: the oldest leave first).
    std::vector<std::size_t> population;
    for (std::size_t i = trials.size(); i-- > 0 && population.size() < static_cast<std::size_t>(options_.population);) {
      const auto& t = trials[i];
      if (t.state == lepton::TrialState::kComplete && !t.values.empty() && std::isfinite(t.values[0]))
        population.push_back(i);
    }
    if (population.size() < static_cast<std::size_t>(options_.population)) return encoder_.space().sample(rng);

    // Tournament: the best of `tournament` members drawn without replacement.
    for (int k = 0; k < options_.tournament; ++k) {
      const auto pick = static_cast<std::size_t>(lepton::uniform_int(rng, k, static_cast<std::int64_t>(population.size()) - 1));
      std::swap(population[static_cast<std::size_t>(k)], population[pick]);
    }
    const auto loss = [&](std::size_t i) {
      return lepton::to_minimization({trials[i].values[0]}, {direction_})[0];
    };
    const auto parent = *std::min_element(population.begin(), population.begin() + options_.tournament,
                                          [&](std::size_t a, std::size_t b) {
                                            return loss(a) != loss(b) ? loss(a) < loss(b) : trials[a].number < trials[b].number;
                                          });
    for (int attempt = 0; attempt < 16; ++attempt) {
      lepton::Params child = mutate(trials[parent].params, rng);
      if (child != trials[parent].params) return child;
    }
    return encoder_.space().sample(rng);  // a space with a single point
  }

 private:
  // Mutates each active, non-fixed parameter with probability `mutation_rate` (at least one):
  // numbers take a Gaussian step on the unit scale (at least one value for discrete ones),
  // categoricals another choice. Decoding then drops parameters that became inactive and draws
  // the ones that became active at random.
  lepton::Params mutate(const lepton::Params& parent, lepton::Rng& rng) const {
    std::vector<double> x = encoder_.encode(parent);
    std::vector<std::size_t> mutable_params;
    const auto& params = encoder_.space().params();
    for (std::size_t p = 0; p < params.size(); ++p) {
      const auto [first, count] = encoder_.span(p);
      if (count > 0 && !std::isnan(x[first]) && encoder_.dimensions()[first].cardinality != 1) mutable_params.push_back(p);
    }
    if (mutable_params.empty()) return encoder_.decode(x, &rng);
    const double rate = options_.mutation_rate.value_or(1.0 / static_cast<double>(mutable_params.size()));
    std::vector<std::size_t> chosen;
    for (const std::size_t p : mutable_params)
      if (lepton::uniform01(rng) < rate) chosen.push_back(p);
    if (chosen.empty())
      chosen.push_back(mutable_params[static_cast<std::size_t>(
          lepton::uniform_int(rng, 0, static_cast<std::int64_t>(mutable_params.size()) - 1))]);
    for (const std::size_t p : chosen) {
      const auto& spec = params[p];
      const std::size_t d = encoder_.span(p).first;
      const std::int64_t values = encoder_.dimensions()[d].cardinality;
      if (spec.type == lepton::ParamType::kCategorical) {
        const auto current = static_cast<std::int64_t>(x[d] * static_cast<double>(values));
        auto other = lepton::uniform_int(rng, 0, values - 2);
        if (other >= current) ++other;
        x[d] = (static_cast<double>(other) + 0.5) / static_cast<double>(values);
        continue;
      }
      const json before = encoder_.decode_param(p, x);
      const double u = reflect(x[d] + options_.mutation_scale * lepton::normal01(rng));
      x[d] = u;
      if (values > 0 && encoder_.decode_param(p, x) == before) {  // too small a step: move to a neighbour
        const double step = spec.type == lepton::ParamType::kInt ? std::max(1.0, spec.step) : spec.step;
        const auto k = std::llround((before.get<double>() - spec.low) / step);
        const bool up = k == 0 || (k + 1 < values && lepton::uniform01(rng) < 0.5);
        x[d] = lepton::to_unit(spec, spec.value_at(up ? k + 1 : k - 1).get<double>());
      }
    }
    return encoder_.decode(x, &rng);
  }

  lepton::SpaceEncoder encoder_;
  lepton::Direction direction_;
  Options options_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    Options options = read_options(setup.options);
    if (setup.directions.size() != 1)
      throw lepton::ConfigError("task.objective", "evolution optimizes one objective; use nsga2 (or tpe) for " +
                                                      std::to_string(setup.directions.size()) + " objectives");
    return std::make_unique<EvolutionSearcher>(setup, options);
  });
}
