// A searcher compiled with a modified copy of the SDK headers (see CMakeLists.txt); the engine
// must refuse it before running any of its code, so what it proposes never matters.
#include <lepton/plugin.hpp>

namespace {
struct Foreign final : lepton::Searcher {
  lepton::Params suggest(const lepton::SearchContext&) override { return lepton::json::object(); }
};
}  // namespace

LEPTON_PLUGIN() {  // foreign_abi or foreign_fingerprint, from the manifest the test writes
  registrar.add_searcher([](const lepton::SearcherSetup&) { return std::make_unique<Foreign>(); });
}
