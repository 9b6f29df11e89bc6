// The plugins the build made, first-party and domain packs, loaded once per test process.
#pragma once

#include "plugins/registry.hpp"

namespace lepton::test {

/// The build's plugin folder and its packs. Loaded once: plugins stay loaded for the process's life.
const engine::Registry& build_plugins();

}  // namespace lepton::test
