// A searcher compiled with a modified copy of the SDK headers (see CMakeLists.txt).
#include <lepton/plugin.hpp>

namespace {
class Foreign final : public lepton::Searcher {
 public:
  explicit Foreign(lepton::SearchSpace space) : space_(std::move(space)) {}
  lepton::Params suggest(const lepton::SearchContext& context) override {
    lepton::Rng rng(context.seed);
    return space_.sample(rng);
  }

 private:
  lepton::SearchSpace space_;
};
}  // namespace

LEPTON_PLUGIN(searcher, FOREIGN_NAME, "1.0.0") {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) { return std::make_unique<Foreign>(setup.space); });
}
