// Example searcher: random proposals for the first trials, then small steps around the best trial
// so far. Every proposal is a pure function of the history and the trial's seed, which is what
// makes studies reproducible and resumable (and what `lepton plugins check` verifies).
// A searcher needs no LibTorch modules: these two headers compile in a third of lepton.hpp's time.
#include <lepton/plugin.hpp>
#include <lepton/searcher.hpp>

#include <optional>

namespace {

class HillClimb final : public lepton::Searcher {
 public:
  HillClimb(const lepton::SearcherSetup& setup, int startup, double scale)
      : space_(setup.space), direction_(setup.directions.front()), startup_(startup), scale_(scale) {}

  lepton::Params suggest(const lepton::SearchContext& context) override {
    lepton::Rng rng(context.seed);
    const lepton::TrialView* best = best_trial(context.history());
    if (best == nullptr || context.trial_number < startup_) return space_.sample(rng);
    // Parents first: a child's activity is decided by the values already chosen.
    lepton::Params out = lepton::json::object();
    for (const auto& spec : space_.params()) {
      if (!space_.is_active(spec, out)) continue;
      const auto it = best->params.find(spec.name);
      if (it == best->params.end()) {
        out[spec.name] = lepton::SearchSpace::sample_value(spec, rng);  // newly active: draw it
      } else if (spec.numeric()) {
        const auto [low, high] = lepton::SearchSpace::internal_bounds(spec);
        const double moved = lepton::SearchSpace::to_internal(spec, it->get<double>()) +
                             lepton::normal01(rng) * scale_ * (high - low);
        out[spec.name] = lepton::SearchSpace::from_internal(spec, moved);  // clamps and snaps to the step
      } else if (spec.type == lepton::ParamType::kCategorical && lepton::uniform01(rng) < scale_) {
        out[spec.name] = lepton::SearchSpace::sample_value(spec, rng);
      } else {
        out[spec.name] = *it;
      }
    }
    return out;
  }

 private:
  const lepton::TrialView* best_trial(const std::vector<lepton::TrialView>& history) const {
    const lepton::TrialView* best = nullptr;
    for (const auto& t : history) {
      if (t.state != lepton::TrialState::kComplete || t.values.empty()) continue;
      const bool better = best == nullptr || (direction_ == lepton::Direction::kMaximize ? t.values[0] > best->values[0]
                                                                                         : t.values[0] < best->values[0]);
      if (better) best = &t;
    }
    return best;
  }

  lepton::SearchSpace space_;
  lepton::Direction direction_;
  int startup_;
  double scale_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    lepton::ConfigObject options(setup.options, "search.options");
    const int startup = static_cast<int>(options.integer_in("startup", 1, 1000, 5));
    const double scale = options.number_in("scale", 0.0, 1.0, 0.15);
    options.finish();  // a misspelt option is an error, not a silent default
    return std::make_unique<HillClimb>(setup, startup, scale);
  });
}
