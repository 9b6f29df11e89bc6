// Branin, Hartmann-6, Rosenbrock-10 and a mixed conditional function; the same formulas as
// optuna_peer.py.
#include "problems.hpp"

#include <cmath>

namespace lepton::bench {

namespace {

constexpr double kPi = 3.14159265358979323846;

double branin(const json& p) {
  const double x1 = p.at("x1").get<double>(), x2 = p.at("x2").get<double>();
  const double b = 5.1 / (4 * kPi * kPi), c = 5 / kPi, t = 1 / (8 * kPi);
  return std::pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - t) * std::cos(x1) + 10;
}

double hartmann6(const json& p) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double a[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double q[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double sum = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) {
      const double x = p.at("x" + std::to_string(j + 1)).get<double>();
      inner += a[i][j] * std::pow(x - q[i][j] * 1e-4, 2);
    }
    sum += alpha[i] * std::exp(-inner);
  }
  return -sum;
}

double rosenbrock10(const json& p) {
  double sum = 0;
  for (int i = 1; i < 10; ++i) {
    const double x = p.at("x" + std::to_string(i)).get<double>(), next = p.at("x" + std::to_string(i + 1)).get<double>();
    sum += 100 * std::pow(next - x * x, 2) + std::pow(1 - x, 2);
  }
  return sum;
}

// Three model families, the best one also holding the worst corners; its optimum (0) is at
// net, lr 10^-2.5, 3 layers, width 128, dropout 0.2, batch 32, momentum 0.9.
double mixed(const json& p) {
  const double shared = 0.0125 * std::pow(std::log2(p.at("batch").get<double>()) - 5, 2) +
                        0.3 * std::pow(p.at("momentum").get<double>() - 0.9, 2);
  const std::string model = p.at("model").get<std::string>();
  if (model == "linear") {
    const std::string penalty = p.at("penalty").get<std::string>();
    const double reg = penalty == "l1" ? 0.03 : penalty == "l2" ? 0.01 : 0.1 * std::pow(p.at("l1_ratio").get<double>() - 0.3, 2);
    return shared + 0.35 + 0.04 * std::pow(std::log10(p.at("alpha").get<double>()) + 2, 2) + reg;
  }
  if (model == "tree")
    return shared + 0.15 + 0.002 * std::pow(p.at("depth").get<double>() - 9, 2) +
           0.03 * std::pow(std::log10(p.at("min_leaf").get<double>()) - 1, 2);
  const double a = std::log10(p.at("lr").get<double>()) + 2.5, b = std::log2(p.at("width").get<double>()) - 7;
  return shared + 0.04 * a * a + 0.02 * b * b + 0.02 * a * b + 0.01 * std::pow(p.at("layers").get<double>() - 3, 2) +
         0.4 * std::pow(p.at("dropout").get<double>() - 0.2, 2);
}

json box(const std::string& prefix, int n, double low, double high) {
  json space = json::object();
  for (int i = 1; i <= n; ++i) space[prefix + std::to_string(i)] = {{"type", "float"}, {"low", low}, {"high", high}};
  return space;
}

}  // namespace

const std::vector<Problem>& problems() {
  static const std::vector<Problem> all = [] {
    std::vector<Problem> out;
    out.push_back({"branin",
                   {{"x1", {{"type", "float"}, {"low", -5.0}, {"high", 10.0}}},
                    {"x2", {{"type", "float"}, {"low", 0.0}, {"high", 15.0}}}},
                   0.397887,
                   branin,
                   15});
    out.push_back({"hartmann6", box("x", 6, 0.0, 1.0), -3.32237, hartmann6, 3});
    out.push_back({"rosenbrock10", box("x", 10, -5.0, 10.0), 0.0, rosenbrock10, 2});
    const json linear = {{"model", {"linear"}}}, tree = {{"model", {"tree"}}}, net = {{"model", {"net"}}};
    out.push_back({"mixed",
                   {{"model", {{"type", "categorical"}, {"choices", {"linear", "tree", "net"}}}},
                    {"alpha", {{"type", "float"}, {"low", 1e-4}, {"high", 10.0}, {"log", true}, {"when", linear}}},
                    {"penalty", {{"type", "categorical"}, {"choices", {"l1", "l2", "elasticnet"}}, {"when", linear}}},
                    {"l1_ratio", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}, {"when", {{"penalty", {"elasticnet"}}}}}},
                    {"depth", {{"type", "int"}, {"low", 1}, {"high", 20}, {"when", tree}}},
                    {"min_leaf", {{"type", "int"}, {"low", 1}, {"high", 100}, {"log", true}, {"when", tree}}},
                    {"layers", {{"type", "int"}, {"low", 1}, {"high", 6}, {"when", net}}},
                    {"width", {{"type", "int"}, {"low", 8}, {"high", 1024}, {"log", true}, {"when", net}}},
                    {"lr", {{"type", "float"}, {"low", 1e-5}, {"high", 1.0}, {"log", true}, {"when", net}}},
                    {"dropout", {{"type", "float"}, {"low", 0.0}, {"high", 0.5}, {"step", 0.05}, {"when", net}}},
                    {"batch", {{"type", "categorical"}, {"choices", {16, 32, 64, 128, 256}}}},
                    {"momentum", {{"type", "float"}, {"low", 0.0}, {"high", 0.99}}}},
                   0.0,
                   mixed,
                   3});
    return out;
  }();
  return all;
}

}  // namespace lepton::bench
