// Random search: each trial's parameters depend only on its seed, so any number of workers, in any
// order, propose exactly the same points.
#include <lepton/plugin.hpp>

namespace {

class RandomSearcher final : public lepton::Searcher {
 public:
  explicit RandomSearcher(lepton::SearchSpace space) : space_(std::move(space)) {}

  lepton::Params suggest(const lepton::SearchContext& context) override {
    lepton::Rng rng(context.seed);
    return space_.sample(rng);
  }

 private:
  lepton::SearchSpace space_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    lepton::ConfigObject options(setup.options, "search.options");
    options.finish();  // random search takes no options
    return std::make_unique<RandomSearcher>(setup.space);
  });
}
