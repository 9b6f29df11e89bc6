// libFuzzer target: the experiment parser answers any input with an Experiment or a ConfigError,
// never a crash, a hang, undefined behaviour or another exception; and any space it accepts only
// ever yields points that pass its own check.
#include "experiment/experiment.hpp"

#include <lepton/random.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  lepton::engine::Experiment experiment;
  try {
    experiment = lepton::engine::parse_experiment_text(text, {"/nonexistent"});
  } catch (const lepton::ConfigError&) {
    return 0;  // the expected answer to bad input
  }
  // Accepted: the space must sample valid points and survive a round trip through its JSON form.
  const lepton::SearchSpace& space = experiment.search.space;
  lepton::Rng rng(experiment.search.seed);
  for (int i = 0; i < 4; ++i) {
    const lepton::Params point = space.sample(rng);
    if (auto why = space.check(point)) {
      std::fprintf(stderr, "sampled an invalid point %s: %s\n", point.dump().c_str(), why->c_str());
      std::abort();
    }
  }
  const lepton::SearchSpace again = lepton::SearchSpace::parse(space.to_json(), "search.space");
  if (again.to_json() != space.to_json()) std::abort();
  if (!lepton::engine::first_difference(experiment, experiment).empty()) std::abort();
  return 0;
}
