// Image augmentation: flips and crops move pixels exactly, draws come from the trial's generator
// (the same seed, the same batches and weights), and training refuses data or optimizers it
// cannot augment with a message naming the setting.
#include "train/augment.hpp"
#include "train/trainer.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <set>

using namespace lepton::engine;

namespace {

// Distinct values everywhere, so any move of a pixel shows.
at::Tensor numbered_images(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  return torch::arange(n * c * h * w, torch::kFloat32).reshape({n, c, h, w}).add_(1);
}

// `image` {C, H, W} shifted by (dx, dy) pixels with zeros coming in.
at::Tensor shifted(const at::Tensor& image, int dx, int dy) {
  const auto h = image.size(1), w = image.size(2);
  auto out = torch::zeros_like(image);
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) {
      const auto sy = y - dy, sx = x - dx;
      if (sy >= 0 && sy < h && sx >= 0 && sx < w) out.select(1, y).select(1, x).copy_(image.select(1, sy).select(1, sx));
    }
  return out;
}

// A linear classifier of flattened samples.
class Linear final : public lepton::Network {
 public:
  explicit Linear(std::int64_t inputs) { linear_ = register_module("linear", torch::nn::Linear(inputs, 2)); }
  torch::Tensor features(const torch::Tensor& x) override { return x.flatten(1); }
  torch::Tensor head(const torch::Tensor& f) override { return linear_(f); }
  void replace_head(std::int64_t) override {}
  std::vector<torch::Tensor> head_parameters() override { return linear_->parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return {}; }

 private:
  torch::nn::Linear linear_{nullptr};
};

at::Generator seeded(std::uint64_t seed) {
  auto g = at::detail::createCPUGenerator();
  g.set_current_seed(seed);
  return g;
}

}  // namespace

TEST_CASE("augment_flip mirrors about half the images exactly and leaves the rest alone", "[augment]") {
  const auto x = numbered_images(64, 3, 5, 7);
  AugmentSettings s;
  s.flip = true;
  const auto out = augment(x, s, seeded(1));
  int mirrored = 0;
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    const bool same = out[i].equal(x[i]), flipped = out[i].equal(x[i].flip({2}));
    CHECK(same != flipped);
    mirrored += flipped;
  }
  CHECK(mirrored > 16);
  CHECK(mirrored < 48);
}

TEST_CASE("augment_crop shifts each image by whole pixels within the padding, padding with 0", "[augment]") {
  const auto x = numbered_images(40, 2, 6, 6);
  AugmentSettings s;
  s.crop = 2;
  const auto out = augment(x, s, seeded(2));
  std::set<std::pair<int, int>> seen;
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    bool found = false;
    for (int dy = -2; dy <= 2 && !found; ++dy)
      for (int dx = -2; dx <= 2 && !found; ++dx)
        if (torch::allclose(out[i], shifted(x[i], dx, dy), 0, 0.05)) {  // float32 grid: ~1e-6 weights of the 0 padding
          found = true;
          seen.insert({dx, dy});
        }
    INFO("image " << i);
    CHECK(found);
  }
  CHECK(seen.size() > 10);  // of the 25 shifts
}

TEST_CASE("augmentation draws from the generator it is given: same seed, same batch", "[augment]") {
  const auto x = numbered_images(16, 3, 9, 9);
  AugmentSettings s;
  s.flip = true;
  s.crop = 1;
  s.shift = 0.1;
  s.rotate = 15;
  const auto a = augment(x, s, seeded(5)), b = augment(x, s, seeded(5)), c = augment(x, s, seeded(6));
  CHECK(a.equal(b));
  CHECK_FALSE(a.equal(c));
  CHECK(a.sizes() == x.sizes());
  CHECK(torch::isfinite(a).all().item<bool>());
  // A rotation alone keeps a constant image's centre and only brings in 0 at the corners.
  AugmentSettings turn;
  turn.rotate = 30;
  const auto flat = augment(torch::ones({8, 1, 9, 9}), turn, seeded(7));
  CHECK(flat.select(2, 4).select(2, 4).allclose(torch::ones({8, 1})));
  CHECK(flat.max().item<float>() <= 1.0f + 1e-5f);
  CHECK(flat.min().item<float>() >= 0.0f);
  CHECK(turn.names() == "augment_rotate");
}

TEST_CASE("training with augmentation is reproducible per seed and refuses what it cannot augment", "[augment]") {
  const auto x = torch::randn({64, 1, 8, 8}, seeded(3));
  const auto y = (x.mean({1, 2, 3}) > 0).to(torch::kLong);
  lepton::Split train;
  train.x = x;
  train.y = y;
  TrainSettings settings;
  settings.epochs = 2;
  settings.batch_size = 16;
  settings.optimizer.kind = "adam";
  settings.optimizer.lr = 0.01;
  settings.augment.flip = true;
  settings.augment.crop = 1;
  auto train_once = [&](std::uint64_t seed, const TrainSettings& s) {
    lepton::TrialGeneratorScope scope(seed);
    std::shared_ptr<lepton::Network> net;
    {
      const auto lock = seeded_construction(seed);
      net = std::make_shared<Linear>(64);
    }
    TrainingRun run(net, train, s, all_parameters(*net));
    for (int e = 1; e <= s.epochs; ++e) run.train_epoch(e);  // epochs count from 1
    return torch::cat({net->parameters()[0].flatten(), net->parameters()[1].flatten()});
  };
  const auto first = train_once(9, settings);
  CHECK(first.equal(train_once(9, settings)));
  TrainSettings plain = settings;
  plain.augment = {};
  CHECK_FALSE(first.equal(train_once(9, plain)));  // the augmentation changed what was learnt

  lepton::Split flat = train;
  flat.x = x.reshape({64, 64});
  std::shared_ptr<lepton::Network> net = std::make_shared<Linear>(64);
  CHECK_THROWS_WITH(TrainingRun(net, flat, settings, all_parameters(*net)),
                    Catch::Contains("augment_flip, augment_crop need image samples"));
  TrainSettings lbfgs = settings;
  lbfgs.optimizer.kind = "lbfgs";
  CHECK_THROWS_WITH(TrainingRun(net, train, lbfgs, all_parameters(*net)), Catch::Contains("lbfgs"));
}
