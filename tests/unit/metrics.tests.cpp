// Classification metrics against values worked out by hand (and checked with scikit-learn).
#include "train/metrics.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

using namespace lepton::engine;

TEST_CASE("ROC-AUC counts ties as half", "[metrics]") {
  CHECK(roc_auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}) == Approx(0.75));
  CHECK(roc_auc({0.5, 0.5, 0.5, 0.5}, {false, true, false, true}) == Approx(0.5));
  CHECK(roc_auc({0.9, 0.8, 0.1}, {true, true, false}) == Approx(1.0));
  CHECK(std::isnan(roc_auc({0.1, 0.2}, {true, true})));
}

TEST_CASE("binary metrics score the positive class", "[metrics]") {
  // truth:     1 1 1 0 0 0 1 0 ; predicted (argmax): 1 1 0 0 1 0 1 0
  const auto labels = torch::tensor({1, 1, 1, 0, 0, 0, 1, 0}, torch::kLong);
  const auto p1 = torch::tensor({0.9, 0.8, 0.4, 0.2, 0.6, 0.1, 0.7, 0.3}, torch::kDouble);
  const auto logits = torch::stack({torch::log(1 - p1), torch::log(p1)}, 1);
  const auto m = classification_metrics(logits, labels);
  CHECK(m.accuracy == Approx(6.0 / 8));
  CHECK(m.precision == Approx(3.0 / 4));  // tp 3, fp 1
  CHECK(m.recall == Approx(3.0 / 4));     // tp 3, fn 1
  CHECK(m.f1 == Approx(0.75));
  CHECK(m.roc_auc == Approx(15.0 / 16));  // sklearn.metrics.roc_auc_score gives 0.9375
  CHECK(m.loss > 0);
}

TEST_CASE("multi-class metrics are macro averages", "[metrics]") {
  const auto labels = torch::tensor({0, 1, 2, 2}, torch::kLong);
  const auto logits = torch::tensor({{5.0, 0.0, 0.0}, {0.0, 0.0, 5.0}, {0.0, 0.0, 5.0}, {0.0, 5.0, 0.0}});
  const auto m = classification_metrics(logits, labels);
  CHECK(m.accuracy == Approx(0.5));
  // class 0: p 1 r 1; class 1: p 0 r 0; class 2: p 0.5 r 0.5
  CHECK(m.precision == Approx(0.5));
  CHECK(m.recall == Approx(0.5));
  CHECK(m.f1 == Approx(0.5));
  CHECK(known_metrics().size() == 13);
}
