// The Lepton SDK: everything a plugin includes. A complete plugin, a searcher that proposes
// uniformly at random, fits in one file:
//
//     #include <lepton/lepton.hpp>
//
//     class UniformSearcher final : public lepton::Searcher {
//      public:
//       explicit UniformSearcher(lepton::SearchSpace space) : space_(std::move(space)) {}
//       lepton::Params suggest(const lepton::SearchContext& context) override {
//         lepton::Rng rng(context.seed);        // the trial's seed: proposals are reproducible
//         return space_.sample(rng);            // valid by construction, conditions included
//       }
//      private:
//       lepton::SearchSpace space_;
//     };
//
//     LEPTON_PLUGIN() {
//       registrar.add_searcher([](const lepton::SearcherSetup& setup) {
//         return std::make_unique<UniformSearcher>(setup.space);
//       });
//     }
//
// Build it with CMake:
//
//     find_package(Lepton REQUIRED)
//     lepton_add_plugin(uniform SOURCES uniform.cpp)
//
// and describe it in `uniform.plugin.json` beside the sources (name, kind, version, description and
// its options): LEPTON_PLUGIN() takes its kind, name and version from there. Point LEPTON_PLUGIN_PATH at the build folder and `lepton plugins list` shows it;
// `"search": {"searcher": "uniform", ...}` in an experiment uses it.
//
// Models derive lepton::Network and register a lepton::Model; datasets register a lepton::Dataset
// (<lepton/splits.hpp> has seeded stratified splits); metric plugins register a factory of
// lepton::MetricSet and declare their metrics, with directions, in the manifest. `lepton plugins
// check uniform.so` drives any plugin through its contract; docs/plugin-guide.md walks through it.
// Throw lepton::ConfigError for bad input (the user sees the JSON path and your message); any other
// exception from a trial's call fails that trial only, with your message as its reason.
#pragma once

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>
#include <lepton/export.hpp>
#include <lepton/metric.hpp>
#include <lepton/model.hpp>
#include <lepton/pareto.hpp>
#include <lepton/plugin.hpp>
#include <lepton/random.hpp>
#include <lepton/search_space.hpp>
#include <lepton/searcher.hpp>
#include <lepton/space_encoding.hpp>
#include <lepton/splits.hpp>
