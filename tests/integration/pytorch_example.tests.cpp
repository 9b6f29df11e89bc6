// examples/pytorch-model as the README runs it, one trial per study: Python scripts a torchvision
// ResNet-18 and a small CNN, Lepton trains them on Fashion-MNIST, fine-tunes the best on five new
// classes, distils it into an mlp and exports the student, which Python loads with PyTorch alone.
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/torchscript.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using lepton::test::run_lepton;

TEST_CASE("the PyTorch example runs end to end: train, fine-tune, distil, export, load in Python", "[example][torchscript][slow]") {
  lepton::test::TempDir dir;
  // A copy of the example folder, so the files make_models.py writes stay out of the source tree.
  const std::string example = dir.file("pytorch-model");
  std::filesystem::copy(std::string(LEPTON_SOURCE_DIR) + "/examples/pytorch-model", example);
  const auto made = lepton::test::run_process({LEPTON_PYTHON, example + "/make_models.py"});
  INFO(made.err);
  REQUIRE(made.exit_code == 0);
  CHECK_THAT(made.out, Catch::Contains("resnet18.pt: 11,170,245 parameters"));

  const std::string url = dir.sqlite_url("lepton.db");
  for (const char* step : {"train", "finetune", "distill"}) {
    INFO(step);
    const auto r = run_lepton({"run", example + "/" + step + ".json", "--storage", url, "--trials", "1", "--quiet"}, {},
                              dir.path());
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("1 trials: 1 complete"));
    if (std::string(step) == "train") CHECK_THAT(r.out, Catch::Contains("resnet18.pt"));  // the grid's first point
  }
  const auto exported = run_lepton({"export", "--storage", url, "--study", "pytorch-distill", "--format", "torchscript", "-o",
                                    dir.file("student.pt")});
  INFO(exported.err);
  REQUIRE(exported.exit_code == 0);
  const auto loaded = lepton::test::run_process({LEPTON_PYTHON, example + "/load_student.py", dir.file("student.pt")});
  INFO(loaded.err);
  REQUIRE(loaded.exit_code == 0);
  CHECK_THAT(loaded.out, Catch::Contains("classes: ['Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']") &&
                             Catch::Contains("5000 test images, accuracy"));
}
