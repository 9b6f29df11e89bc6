// One registry for the tests that call plugins directly.
#include "support/plugins.hpp"

#include <memory>

namespace lepton::test {

const engine::Registry& build_plugins() {
  static const auto registry = [] {
    auto r = std::make_unique<engine::Registry>();
    r->load_folder(LEPTON_PLUGIN_DIR, "build");
    r->load_folder(LEPTON_PACK_DIR);
    return r;
  }();
  return *registry;
}

}  // namespace lepton::test
