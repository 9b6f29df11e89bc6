// k-fold cross-validation folds and the dataset subset: partitions, stratification, errors.
#include "data/folds.hpp"
#include "data/subset.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <set>

using namespace lepton::engine;
using lepton::json;

TEST_CASE("stratified folds partition the rows and spread each class evenly", "[folds]") {
  // 3 classes of 10, 7 and 4 samples.
  std::vector<std::int64_t> labels;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < (c == 0 ? 10 : c == 1 ? 7 : 4); ++i) labels.push_back(c);
  const auto y = torch::tensor(labels, torch::kLong);
  const auto folds = stratified_folds(y, 4, 9, "cv");
  REQUIRE(folds.size() == 4);
  std::multiset<std::int64_t> validated;
  for (const auto& f : folds) {
    CHECK(f.train.numel() + f.valid.numel() == 21);
    std::set<std::int64_t> train(f.train.data_ptr<std::int64_t>(), f.train.data_ptr<std::int64_t>() + f.train.numel());
    for (std::int64_t i = 0; i < f.valid.numel(); ++i) {
      const auto row = f.valid[i].item<std::int64_t>();
      CHECK(train.count(row) == 0);
      validated.insert(row);
    }
    for (int c = 0; c < 3; ++c) {
      const auto in_fold = y.index_select(0, f.valid).eq(c).sum().item<std::int64_t>();
      const std::int64_t size = c == 0 ? 10 : c == 1 ? 7 : 4;
      CHECK(in_fold >= size / 4);
      CHECK(in_fold <= (size + 3) / 4);
    }
  }
  CHECK(validated.size() == 21);
  CHECK(std::set<std::int64_t>(validated.begin(), validated.end()).size() == 21);  // each row validated once
  // Deterministic for a seed, different for another.
  CHECK(torch::equal(stratified_folds(y, 4, 9, "cv")[0].valid, folds[0].valid));
  CHECK_FALSE(torch::equal(stratified_folds(y, 4, 10, "cv")[0].valid, folds[0].valid));
  CHECK_THROWS_WITH(stratified_folds(y, 5, 0, "task.cross_validation.folds"),
                    Catch::Contains("class 2 has 4 samples in train + valid, fewer than the 5 folds"));
}

TEST_CASE("the cross_validation option parses strictly", "[folds]") {
  const auto cv = CrossValidation::parse({{"folds", 5}}, "task.cross_validation");
  CHECK(cv.enabled());
  CHECK(cv.refit);
  CHECK_THROWS_WITH(CrossValidation::parse({{"folds", 1}}, "task.cross_validation"),
                    Catch::Contains("task.cross_validation.folds"));
  CHECK_THROWS_WITH(CrossValidation::parse({{"fold", 3}}, "task.cross_validation"), Catch::Contains("folds"));
}

TEST_CASE("a subset keeps the named classes in the order given and few training samples", "[folds]") {
  lepton::DataSplits data;
  data.class_names = {"a", "b", "c", "d"};
  auto split = [](int per_class) {
    std::vector<std::int64_t> y;
    for (int c = 0; c < 4; ++c)
      for (int i = 0; i < per_class; ++i) y.push_back(c);
    const auto labels = torch::tensor(y, torch::kLong);
    return lepton::Split{labels.to(torch::kFloat32).reshape({-1, 1}), labels};
  };
  data.train = split(20);
  data.valid = split(5);
  data.test = split(5);
  const auto subset = DataSubset::parse({{"classes", {"d", 1}}, {"train_per_class", 3}, {"seed", 4}}, "dataset.subset");
  const auto kept = apply_subset(data, subset, "dataset.subset");
  CHECK(kept == std::vector<std::int64_t>{3, 1});
  CHECK(data.class_names == std::vector<std::string>{"d", "b"});
  CHECK(data.train.size() == 6);
  CHECK(data.valid.size() == 10);
  CHECK(data.test.size() == 10);
  // Labels are renumbered to the new classes, and the features still belong to them.
  CHECK(torch::equal(data.train.y.eq(0), data.train.x.reshape({-1}).eq(3)));
  CHECK(data.train.y.eq(0).sum().item<int>() == 3);
  CHECK(torch::equal(remap_labels(torch::tensor({0, 1, 2, 3, -1}, torch::kLong), kept),
                     torch::tensor({-1, 1, -1, 0, -1}, torch::kLong)));

  lepton::DataSplits again;
  again.class_names = {"a", "b"};
  again.train = again.valid = split(2);
  CHECK_THROWS_WITH(apply_subset(again, DataSubset::parse({{"classes", {"a", "z"}}}, "dataset.subset"), "dataset.subset"),
                    Catch::Contains("dataset.subset.classes[1]: the data has no class \"z\""));
  CHECK_THROWS_WITH(DataSubset::parse({{"classes", {"a"}}}, "dataset.subset"), Catch::Contains("at least 2 classes"));
  CHECK_THROWS_WITH(DataSubset::parse({{"train_per_class", 0}}, "dataset.subset"),
                    Catch::Contains("dataset.subset.train_per_class"));
}
