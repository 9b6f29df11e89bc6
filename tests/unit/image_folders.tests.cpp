// The images plugin on folders as they come: every colour mode and size (tests/fixtures/image_modes
// holds red and blue images as gray, RGB, RGBA, palette and CMYK JPEG, PNG, BMP and GIF files),
// corrupt files under both policies, the memory refusal, pre-split folders, separate sources,
// manifests, and predictions on a folder or one image.
#include "plugins/registry.hpp"
#include "support/plugins.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

using lepton::json;
namespace fs = std::filesystem;

namespace {

const std::string kModes = std::string(LEPTON_SOURCE_DIR) + "/tests/fixtures/image_modes";
const std::string kHymenoptera = std::string(LEPTON_SOURCE_DIR) + "/data/hymenoptera";

lepton::DataSplits load(const json& config) { return lepton::test::load_dataset("images", config); }
lepton::DataSplits predict(const lepton::DataSplits& trained, const json& config, const std::string& file) {
  return lepton::test::predict_dataset("images", trained, config, file);
}
std::string message_of(const json& config) { return lepton::test::dataset_error("images", config); }

// A copy of the fixture folder, to add bad files to.
std::string modes_copy(const lepton::test::TempDir& dir) {
  const std::string root = dir.file("modes");
  fs::copy(kModes, root, fs::copy_options::recursive);
  return root;
}

// The first bytes of a real JPEG: a header that reads, then data that stops mid-scan.
void write_truncated_jpeg(const std::string& file) {
  std::ifstream in(kHymenoptera + "/train/ants/0013035.jpg", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 2000);
  std::ofstream(file, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
}

std::string notices_of(const lepton::DataSplits& data) { return data.info.value("notices", json::array()).dump(); }

}  // namespace

TEST_CASE("images converts every colour mode and size to one RGB or gray shape", "[images]") {
  const json config = {{"path", kModes}, {"size", {8, 6}}, {"normalize", "none"}, {"split", {{"valid", 0.25}, {"test", 0.25}}}};
  const auto data = load(config);
  CHECK(data.class_names == std::vector<std::string>{"blue", "red"});
  CHECK(data.input_shape == std::vector<std::int64_t>{3, 8, 6});
  CHECK(data.train.size() + data.valid.size() + data.test.size() == 20);
  const auto& images = data.info["images"];
  CHECK(images["modes"] == json{{"cmyk", 2}, {"gray", 6}, {"palette", 4}, {"rgb", 6}, {"rgba", 2}});
  CHECK(images["formats"] == json{{"bmp", 2}, {"gif", 2}, {"jpeg", 6}, {"png", 10}});
  CHECK(images["distinct_sizes"] == 9);
  // The pixels stay bytes; "none" leaves their scaling at x / 255.
  CHECK(data.train.x.scalar_type() == torch::kByte);
  CHECK(data.pixels.mean == std::vector<double>{0, 0, 0});
  CHECK(data.pixels.std == std::vector<double>{1, 1, 1});

  // Each file alone, as a prediction reads it: the colour comes through every format.
  for (const std::string name : {"rgb.jpg", "rgb.png", "rgba.png", "cmyk.jpg", "rgb.bmp"}) {
    const auto one = predict(data, config, kModes + "/red/" + name);
    REQUIRE(one.test.size() == 1);
    CHECK_FALSE(one.test.y.defined());
    const auto rgb = one.test.x.to(torch::kFloat).mean({0, 2, 3});
    INFO(name << ": " << rgb);
    CHECK(rgb[0].item<double>() == Approx(220).margin(3));
    CHECK(rgb[1].item<double>() == Approx(30).margin(3));
    CHECK(rgb[2].item<double>() == Approx(30).margin(3));
  }
  const auto palette = predict(data, config, kModes + "/blue/palette.png").test.x.to(torch::kFloat).mean({0, 2, 3});
  CHECK(palette[2].item<double>() > 150);  // the palette's nearest blue, not an index
  CHECK(palette[0].item<double>() < 80);
  const auto gray = predict(data, config, kModes + "/red/gray16.png").test.x.to(torch::kFloat);  // 16-bit gray, to bytes
  CHECK(gray.min().item<double>() == Approx(87).margin(2));
  CHECK((gray[0][0] - gray[0][2]).abs().max().item<double>() < 1e-4);  // gray in all three channels

  // One channel: colour becomes luma (PIL's weights).
  json gray_config = config;
  gray_config["channels"] = 1;
  const auto as_gray = load(gray_config);
  CHECK(as_gray.input_shape == std::vector<std::int64_t>{1, 8, 6});
  const auto luma = predict(as_gray, gray_config, kModes + "/red/cmyk.jpg").test.x.to(torch::kFloat).mean();
  CHECK(luma.item<double>() == Approx(87).margin(3));
}

TEST_CASE("images of mixed sizes get one size, said in a notice, and all-gray folders one channel", "[images]") {
  const auto data = load({{"path", kModes}});
  const auto side = data.input_shape.at(1);
  CHECK(data.input_shape == std::vector<std::int64_t>{3, side, side});
  CHECK(side == 32);  // the median shorter side, as no image reaches 224
  CHECK_THAT(notices_of(data), Catch::Contains("9 sizes") && Catch::Contains("\\\"size\\\""));
  // The default normalization is fitted on the training split's bytes, per channel, for the
  // networks to apply; the fitted values are saved for predictions.
  const auto per_channel = data.train.x.transpose(0, 1).reshape({3, -1}).to(torch::kDouble) / 255;
  CHECK(torch::allclose(per_channel.mean(1), torch::tensor(data.pixels.mean, torch::kDouble), 0, 1e-9));
  CHECK(torch::allclose(per_channel.std(1, false), torch::tensor(data.pixels.std, torch::kDouble), 0, 1e-9));
  CHECK(data.pixels.mean[0] > data.pixels.mean[1]);  // more red than green in the red and blue images
  CHECK(data.fitted["normalize"]["mean"] == data.pixels.mean);

  lepton::test::TempDir dir;
  const std::string root = dir.file("gray");
  for (const std::string c : {"blue", "red"}) {
    fs::create_directories(root + "/" + c);
    fs::copy(kModes + "/" + c + "/gray.png", root + "/" + c + "/a.png");
    fs::copy(kModes + "/" + c + "/gray.jpg", root + "/" + c + "/b.jpg");
  }
  CHECK(load({{"path", root}, {"size", {4, 4}}}).input_shape == std::vector<std::int64_t>{1, 4, 4});
}

TEST_CASE("images: a corrupt file is skipped with its name, or refuses the study with on_bad_file fail", "[images]") {
  lepton::test::TempDir dir;
  const std::string root = modes_copy(dir);
  write_truncated_jpeg(root + "/red/truncated.jpg");
  std::ofstream(root + "/blue/not-really.png") << "this is text, not a PNG\n";
  std::ofstream(root + "/notes.txt") << "not an image\n";

  const auto data = load({{"path", root}, {"size", {8, 8}}});
  CHECK(data.train.size() + data.valid.size() + data.test.size() == 20);
  const std::string notices = notices_of(data);
  CHECK_THAT(notices, Catch::Contains("skipped 2 unreadable image(s)"));
  CHECK_THAT(notices, Catch::Contains("red/truncated.jpg") && Catch::Contains("blue/not-really.png"));
  CHECK_THAT(notices, Catch::Contains("notes.txt"));

  const std::string refused = message_of({{"path", root}, {"size", {8, 8}}, {"on_bad_file", "fail"}});
  CHECK_THAT(refused, Catch::Contains("cannot read") && Catch::Contains("not-really.png") &&
                          Catch::Contains("\"on_bad_file\": \"skip\""));
  // Truncated past its header: the header pass reads it, decoding finds the end missing.
  fs::remove(root + "/blue/not-really.png");
  CHECK_THAT(message_of({{"path", root}, {"size", {8, 8}}, {"on_bad_file", "fail"}}),
             Catch::Contains("truncated.jpg") && Catch::Contains("premature end"));
}

TEST_CASE("images refuses, before decoding, a folder that would not fit in memory", "[images]") {
  const std::string message = message_of({{"path", kHymenoptera}, {"size", {224, 224}}, {"max_memory", "50MB"}});
  // 397 images x 3 x 224 x 224 = 59.8 MB of bytes, held three times at most.
  CHECK_THAT(message, Catch::Contains("397 images of 3x224x224 need 179.3 MB"));
  CHECK_THAT(message, Catch::Contains("50.0 MB are allowed (max_memory)"));
  CHECK_THAT(message, Catch::Contains("set a smaller \"size\" (about [118, 118] fits)"));
  CHECK(message_of({{"path", kHymenoptera}, {"max_memory", "lots"}}).find("expected a size in bytes") != std::string::npos);
  // A given normalization needs one value per channel, whether the channels were given or found.
  CHECK_THAT(message_of({{"path", kModes}, {"size", {4, 4}}, {"normalize", {{"mean", {0.5}}, {"std", {0.2}}}}}),
             Catch::Contains("dataset.normalize: gives 1 means for images of 3 channels"));
  CHECK_THAT(message_of({{"path", kModes}, {"size", {4, 4}}, {"channels", 1}, {"normalize", "imagenet"}}),
             Catch::Contains("dataset.normalize: gives 3 means for images of 1 channels"));
}

TEST_CASE("images uses train/ and val/ folders as given, and separate sources or a manifest", "[images]") {
  const auto data = load({{"path", "data/hymenoptera"}, {"size", {16, 16}}, {"split", {{"test", 0.2}, {"seed", 4}}}});
  CHECK(data.class_names == std::vector<std::string>{"ants", "bees"});
  CHECK(data.valid.size() == 153);                      // val/: 70 ants, 83 bees
  CHECK(data.train.size() + data.test.size() == 244);   // the test split comes from train/
  CHECK(data.test.size() == 49);
  CHECK(torch::bincount(data.valid.y).equal(torch::tensor({70, 83}, torch::kLong)));

  const auto separate = load({{"path", {{"train", "data/hymenoptera/train"}, {"test", "data/hymenoptera/val"}}},
                              {"size", {16, 16}}, {"split", {{"valid", 0.25}}}});
  CHECK(separate.test.size() == 153);
  CHECK(separate.valid.size() == 61);  // 25% of the 244 training images
  CHECK(separate.train.size() == 183);

  lepton::test::TempDir dir;
  const std::string manifest = dir.file("manifest.csv");
  std::ofstream(manifest) << "path,label,split\n"
                          << kModes << "/red/rgb.png,red,train\n" << kModes << "/red/rgb.jpg,red,train\n"
                          << kModes << "/blue/rgb.png,blue,train\n" << kModes << "/blue/rgb.jpg,blue,train\n"
                          << kModes << "/red/cmyk.jpg,red,val\n" << kModes << "/blue/cmyk.jpg,blue,test\n";
  const auto listed = load({{"path", manifest}, {"size", {4, 4}}});
  CHECK(listed.train.size() == 4);
  CHECK(listed.valid.size() == 1);
  CHECK(listed.test.size() == 1);
  CHECK(listed.test.y.item<std::int64_t>() == 0);  // blue

  CHECK_THAT(message_of({{"path", kModes + "/red"}}), Catch::Contains("has no class folders"));
  CHECK_THAT(message_of({{"path", "data/no-such-folder"}}), Catch::Contains("not found"));
}

TEST_CASE("images predicts a folder with its labels and file names, replaying the training normalization", "[images]") {
  const json config = {{"path", "data/hymenoptera"}, {"size", {16, 16}}};
  const auto data = load(config);
  const auto val = predict(data, config, kHymenoptera + "/val");
  CHECK(val.test.size() == 153);
  REQUIRE(val.test.y.defined());
  CHECK(torch::bincount(val.test.y).equal(torch::tensor({70, 83}, torch::kLong)));
  CHECK(val.info["sample_names"].size() == 153);
  CHECK(val.info["sample_names"][0].get<std::string>().rfind("ants/", 0) == 0);
  // The same images read in training (the valid split) and in prediction give the same bytes,
  // and the training split's scaling is replayed.
  CHECK(torch::equal(std::get<0>(torch::sort(val.test.x.sum({1, 2, 3}))), std::get<0>(torch::sort(data.valid.x.sum({1, 2, 3})))));
  CHECK(val.pixels.mean == data.pixels.mean);
  CHECK(val.pixels.std == data.pixels.std);
}
