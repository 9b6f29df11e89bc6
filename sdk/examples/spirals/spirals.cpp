// Example dataset: interleaved spirals in the plane, one arm per class, drawn from a seed. It needs
// no file, and a straight line cannot separate it.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <cmath>

namespace {

class Spirals final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    lepton::ConfigObject cfg(request.config, request.path);
    const std::int64_t samples = cfg.integer_in("samples", 30, 1'000'000, 600);
    const std::int64_t arms = cfg.integer_in("arms", 2, 16, 3);
    const double noise = cfg.number_in("noise", 0.0, 5.0, 0.15);
    const double turns = cfg.number_in("turns", 0.25, 10.0, 1.25);
    const auto seed = static_cast<std::uint64_t>(cfg.integer_in("seed", 0, INT64_MAX, 0));
    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);
    cfg.finish();

    lepton::Rng rng(lepton::derive_seed(seed, 0x5917a15));  // portable: the same data on every platform
    auto x = torch::empty({samples, 2}, torch::kFloat32);
    auto y = torch::empty({samples}, torch::kLong);
    auto xs = x.accessor<float, 2>();
    auto ys = y.accessor<std::int64_t, 1>();
    std::vector<std::int64_t> labels(static_cast<std::size_t>(samples));
    for (std::int64_t i = 0; i < samples; ++i) {
      const std::int64_t arm = i % arms;
      const double t = lepton::uniform01(rng);  // position along the arm, 0 at the centre
      const double angle = 2 * M_PI * (turns * t + static_cast<double>(arm) / static_cast<double>(arms));
      xs[i][0] = static_cast<float>(t * std::cos(angle) + noise * t * lepton::normal01(rng));
      xs[i][1] = static_cast<float>(t * std::sin(angle) + noise * t * lepton::normal01(rng));
      ys[i] = arm;
      labels[static_cast<std::size_t>(i)] = arm;
    }
    const auto parts = lepton::split_rows(labels, arms, split);
    lepton::DataSplits out;
    out.train = lepton::take_rows(x, y, parts[0], {2});
    out.valid = lepton::take_rows(x, y, parts[1], {2});
    out.test = lepton::take_rows(x, y, parts[2], {2});
    out.input_shape = {2};
    for (std::int64_t a = 0; a < arms; ++a) out.class_names.push_back("arm" + std::to_string(a));
    out.feature_names = {"x", "y"};
    out.info = {{"rows", samples}, {"arms", arms}, {"noise", noise}, {"seed", seed}};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<Spirals>()); }
