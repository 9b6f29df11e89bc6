// Temporary folders and the standard small experiment of the tests.
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace lepton::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lepton-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  if (std::getenv("LEPTON_KEEP_TEST_FILES")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string full = file(name);
  std::ofstream(full, std::ios::binary) << content;
  return full;
}

json small_experiment(const std::string& name, int trials, int epochs) {
  json experiment = json::parse(R"({
    "dataset": {"plugin": "csv", "path": ")" + std::string(LEPTON_DATA_DIR) + R"(/breast_cancer.csv",
                "split": {"valid": 0.2, "test": 0.2, "seed": 7}, "standardize": true},
    "model": {"plugin": "mlp"},
    "task": {"type": "train", "objective": {"metric": "val_accuracy"}},
    "search": {"searcher": "random", "parallel": 1, "seed": 3,
               "space": {"lr": {"type": "float", "low": 1e-3, "high": 3e-2, "log": true},
                         "hidden": {"type": "int", "low": 8, "high": 64},
                         "optimizer": {"type": "categorical", "choices": ["adam", "sgd"]},
                         "momentum": {"type": "float", "low": 0.5, "high": 0.95, "when": {"optimizer": "sgd"}}}}
  })");
  experiment.merge_patch({{"name", name}, {"task", {{"epochs", epochs}}}, {"search", {{"trials", trials}}}});
  return experiment;
}

}  // namespace lepton::test
