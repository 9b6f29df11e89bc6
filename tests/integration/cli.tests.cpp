// The command line contract: help that teaches, exit codes, bad input rejected before anything is stored.
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <lepton/plugin.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

using lepton::json;
using lepton::test::run_lepton;

TEST_CASE("--help teaches every subcommand", "[cli]") {
  const auto top = run_lepton({"--help"});
  CHECK(top.exit_code == 0);
  for (const char* word : {"run", "resume", "studies", "trials", "best", "plugins", "Examples:", "Exit codes"})
    CHECK_THAT(top.out, Catch::Contains(word));
  for (const char* sub : {"run", "resume", "studies", "trials", "best", "plugins"}) {
    INFO(sub);
    const auto help = run_lepton({sub, "--help"});
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("Usage:"));
  }
  CHECK_THAT(run_lepton({"run", "--help"}).out, Catch::Contains("--parallel") && Catch::Contains("Example"));
}

TEST_CASE("usage errors exit with code 2", "[cli][slow]") {
  CHECK(run_lepton({}).exit_code == 2);
  CHECK(run_lepton({"fly"}).exit_code == 2);
  CHECK(run_lepton({"best", "--storage", "sqlite:///x.db"}).exit_code == 2);  // --study missing
  CHECK(run_lepton({"run", "e.json", "--trials", "0"}).exit_code == 2);
}

TEST_CASE("a bad experiment exits 2 with the JSON path and writes no store", "[cli][slow]") {
  lepton::test::TempDir dir;
  struct Case {
    json patch;
    std::string message;
  };
  const std::vector<Case> cases{
      {{{"search", {{"space", {{"lr", {{"low", 5.0}}}}}}}}, "search.space.lr.low: low (5) is greater than high (0.03)"},
      {{{"model", {{"plugin", "mpl"}}}}, "model.plugin: unknown model plugin \"mpl\"; did you mean \"mlp\"?"},
      {{{"search", {{"searcher", "bayes"}}}}, "search.searcher: unknown searcher plugin \"bayes\""},
      {{{"search", {{"space", {{"widht", {{"type", "int"}, {"low", 1}, {"high", 4}}}}}}}},
       "search.space.widht: no component takes a parameter \"widht\""},
      {{{"search", {{"space", {{"dropout", {{"type", "float"}, {"low", 0.0}, {"high", 1.5}}}}}}}},
       "search.space.dropout.high: \"dropout\" takes values in [0, 0.95], got 1.5"},
      {{{"search", {{"space", {{"layers", {{"type", "float"}, {"low", 1.0}, {"high", 3.0}}}}}}}},
       "search.space.layers.type: \"layers\" takes integers; search it with \"type\": \"int\""},
      {{{"model", {{"activation", "swish"}}}}, "model.activation: \"activation\" takes one of"},
      {{{"dataset", {{"path", "no/such/file.csv"}}}}, "dataset.path: data file \"no/such/file.csv\" not found"},
      {{{"dataset", {{"label", "diagnosis"}}}}, "dataset.label: no column \"diagnosis\""},
      {{{"dataset", {{"split", {{"valid", 0.0}}}}}}, "dataset.split.valid: the search scores trials on the valid split"},
      {{{"dataset", {{"standardise", true}}}}, "dataset.standardise: unknown key (did you mean \"standardize\"?)"},
      // search.options against the searcher's manifest, before the searcher sees them.
      {{{"search", {{"options", {{"n_startup", 5}}}}}},
       "search.options.n_startup: unknown option for searcher \"random\"; it takes no options"},
      {{{"search", {{"searcher", "evolution"}, {"options", {{"populaton", 10}}}}}},
       "search.options.populaton: unknown option for searcher \"evolution\" (did you mean \"population\"?); it takes: "
       "mutation_rate, mutation_scale, population, tournament"},
      {{{"search", {{"searcher", "evolution"}, {"options", {{"population", 1}}}}}},
       "search.options.population: \"population\" takes values in [2, 1e+06], got 1"},
      {{{"search", {{"searcher", "tpe"}, {"options", {{"multivariate", "yes"}}}}}},
       "search.options.multivariate: expected true or false, got string \"yes\""},
  };
  for (const auto& c : cases) {
    json experiment = lepton::test::small_experiment("bad", 2, 1);
    experiment.merge_patch(c.patch);
    const auto file = dir.write_json("bad.json", experiment);
    const auto r = run_lepton({"run", file, "--storage", dir.sqlite_url()});
    INFO(c.patch.dump() << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("error: " + file + ": " ) && Catch::Contains(c.message));
    CHECK_FALSE(std::filesystem::exists(dir.file("study.db")));
  }
}

TEST_CASE("a text cell in a column declared numeric names the column, line and fix", "[cli][slow]") {
  lepton::test::TempDir dir;
  dir.write("tiny.csv", "a,b,label\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n");
  json experiment = lepton::test::small_experiment("bad", 2, 1);
  experiment["dataset"]["path"] = dir.file("tiny.csv");
  experiment["dataset"]["types"] = {{"b", "numeric"}};
  const auto r = run_lepton({"run", dir.write_json("e.json", experiment), "--storage", dir.sqlite_url()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("dataset.types.b: column \"b\" is declared numeric, but line 3 holds \"x\"; "
                                    "declare it \"categorical\", or list \"x\" in \"missing\""));
}

TEST_CASE("queries on a missing store or study say what exists", "[cli][slow]") {
  lepton::test::TempDir dir;
  const auto none = run_lepton({"best", "--storage", dir.sqlite_url(), "--study", "x"});
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, Catch::Contains("no study store at"));
  REQUIRE(run_lepton({"run", dir.write_json("e.json", lepton::test::small_experiment("real", 1, 1)), "--storage",
                      dir.sqlite_url(), "-q"})
              .exit_code == 0);
  const auto typo = run_lepton({"trials", "--storage", dir.sqlite_url(), "--study", "rael"});
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("no study \"rael\"") && Catch::Contains("did you mean \"real\"?"));
}

TEST_CASE("plugins list shows refused plugins and why", "[cli][slow]") {
  const auto r = run_lepton({"plugins", "list", "--json"},
                            {{"LEPTON_PLUGIN_PATH", std::string(LEPTON_FIXTURE_DIR) + "/wrong_abi"}});
  REQUIRE(r.exit_code == 0);
  const json out = json::parse(r.out);
  bool found = false;
  for (const auto& p : out["plugins"])
    if (p["file"].get<std::string>().find("wrong_abi.so") != std::string::npos) {
      found = true;
      CHECK_FALSE(p["loaded"].get<bool>());
      CHECK_THAT(p["error"].get<std::string>(), Catch::Contains("built for ABI 999, engine has ABI " + std::to_string(lepton::kAbiVersion)));
    }
  CHECK(found);
  const auto human = run_lepton({"plugins"});
  CHECK_THAT(human.out, Catch::Contains("mlp") && Catch::Contains("csv") && Catch::Contains("random"));
  const auto inspect = run_lepton({"plugins", "inspect", std::string(LEPTON_FIXTURE_DIR) + "/wrong_abi/wrong_abi.so"});
  CHECK(inspect.exit_code == 2);
  CHECK_THAT(inspect.out, Catch::Contains("refused: plugin wrong_abi.so: built for ABI 999"));
}

TEST_CASE("data inspect describes a folder of images: counts per class, sizes, modes, notices", "[cli][images]") {
  // The plugin comes from the folder itself; the fixture holds 10 files per class in 9 sizes and 5 modes.
  const std::string folder = std::string(LEPTON_SOURCE_DIR) + "/tests/fixtures/image_modes";
  const auto text = run_lepton({"data", "inspect", folder});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("(images): 20 rows, 3072 features, 2 classes"));  // 3 x 32 x 32
  CHECK_THAT(text.out, Catch::Contains("files: 20 images in 9 sizes; width 30 .. 50 (median 34), height 30 .. 48"));
  CHECK_THAT(text.out, Catch::Contains("modes: cmyk 2, gray 6, palette 4, rgb 6, rgba 2; formats: bmp 2, gif 2, jpeg 6, png 10"));
  CHECK_THAT(text.out, Catch::Contains("the images come in 9 sizes; each was scaled and centre-cropped to 32x32"));
  // Pixels stay bytes; the normalization fitted on the training split is what networks apply.
  CHECK_THAT(text.out, Catch::Contains("values 0 .. 255") && Catch::Contains("pixels: kept as bytes"));

  const auto j = run_lepton({"data", "inspect", folder, "--json", "--config", R"({"size": [8, 8], "channels": 1})"});
  REQUIRE(j.exit_code == 0);
  const json report = json::parse(j.out);
  CHECK(report["plugin"] == "images");
  CHECK(report["input_shape"] == json::array({1, 8, 8}));
  CHECK(report["classes"] == json::array({{{"class", "blue"}, {"rows", 10}}, {{"class", "red"}, {"rows", 10}}}));
  CHECK(report["info"]["images"]["formats"]["png"] == 10);
  CHECK(report["samples"]["pixels"]["mean"].size() == 1);
  CHECK(report["notices"].empty());

  // A large folder says how far decoding has come.
  lepton::test::TempDir dir;
  for (int i = 0; i < 2000; ++i) {
    const std::string c = i % 2 ? "red" : "blue", target = dir.file(c + "/" + std::to_string(i) + ".png");
    std::filesystem::create_directories(dir.file(c));
    std::filesystem::copy_file(folder + "/" + c + "/rgb.png", target);
  }
  const auto large = run_lepton({"data", "inspect", dir.path(), "--config", R"({"size": [4, 4]})"});
  INFO(large.err);
  REQUIRE(large.exit_code == 0);
  CHECK_THAT(large.err, Catch::Contains("decoding images: 2000/2000"));
  CHECK_THAT(large.out, Catch::Contains("2000 rows, 48 features, 2 classes"));
}

TEST_CASE("data inspect says what a run would see, in text and JSON", "[cli][csv]") {
  const std::string titanic = std::string(LEPTON_SOURCE_DIR) + "/data/titanic.csv";
  const auto text = run_lepton({"data", "inspect", titanic, "--label", "Survived"});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("891 rows, 7 features, 2 classes"));
  CHECK_THAT(text.out, Catch::Contains("split: train 535, valid 178, test 178"));
  CHECK_THAT(text.out, Catch::Contains("classes (label Survived):"));
  CHECK_THAT(text.out, Catch::Contains("column \"Cabin\" looks like free text or an ID"));

  const auto j = run_lepton({"data", "inspect", titanic, "--label", "Survived", "--json",
                             "--config", R"({"types": {"Pclass": "categorical"}})"});
  REQUIRE(j.exit_code == 0);
  const json report = json::parse(j.out);
  CHECK(report["plugin"] == "csv");
  CHECK(report["rows"] == 891);
  std::map<std::string, json> features;
  for (const auto& f : report["features"]) features[f["name"].get<std::string>()] = f;
  CHECK(features.size() == 7);
  CHECK(features.at("Age")["type"] == "numeric");
  CHECK(features.at("Age")["missing"] == 177);
  CHECK(features.at("Embarked")["missing"] == 2);
  CHECK(features.at("Sex")["categories"] == json::array({"female", "male"}));
  CHECK(features.at("Pclass")["categories"] == json::array({"1", "2", "3"}));
  CHECK(report["classes"] == json::array({{{"class", "0"}, {"rows", 549}}, {{"class", "1"}, {"rows", 342}}}));

  // ARFF: the plugin comes from the extension, nominal attributes show their declared values.
  const auto arff = run_lepton({"data", "inspect", std::string(LEPTON_SOURCE_DIR) + "/data/credit-g.arff", "--json"});
  REQUIRE(arff.exit_code == 0);
  const json credit = json::parse(arff.out);
  CHECK(credit["plugin"] == "arff");
  REQUIRE(credit["features"].size() == 20);
  CHECK(credit["features"][0]["name"] == "checking_status");
  CHECK(credit["features"][0]["categories"].size() == 4);
  CHECK(credit["features"][1]["type"] == "numeric");
  CHECK(credit["features"][1]["min"] == 4);
  CHECK(credit["classes"] == json::array({{{"class", "good"}, {"rows", 700}}, {{"class", "bad"}, {"rows", 300}}}));

  // Samples with a shape (images) are summed up, not listed pixel by pixel.
  lepton::test::TempDir dir;
  const auto pixels = dir.write("pixels.csv", "0,4,8,16,a\n16,8,4,0,b\n2,2,2,2,a\n8,8,8,8,b\n1,2,3,4,a\n4,3,2,1,b\n");
  const auto image = run_lepton({"data", "inspect", pixels, "--config", R"({"shape": [1, 2, 2], "header": "none"})"});
  INFO(image.err);
  REQUIRE(image.exit_code == 0);
  CHECK_THAT(image.out, Catch::Contains("6 rows, 4 features, 2 classes"));
  CHECK_THAT(image.out, Catch::Contains("samples: 1 x 2 x 2, values "));
  CHECK_THAT(image.out, !Catch::Contains("x3"));
  const json image_json = json::parse(run_lepton({"data", "inspect", pixels, "--json", "--config",
                                                  R"({"shape": [1, 2, 2], "header": "none"})"}).out);
  CHECK(image_json["samples"]["shape"] == json::array({1, 2, 2}));
  CHECK(image_json["features"].empty());

  // A label with a value per row is said to look continuous, once, and the class table is cut short.
  std::string prices = "size,price\n";
  for (int i = 0; i < 30; ++i) prices += std::to_string(i % 7) + "," + std::to_string(100 + i) + ".5\n";
  const auto continuous = run_lepton({"data", "inspect", dir.write("prices.csv", prices)});
  REQUIRE(continuous.exit_code == 0);
  CHECK_THAT(continuous.out, Catch::Contains("the label has 30 distinct values in 30 rows: it looks continuous"));
  CHECK_THAT(continuous.out, Catch::Contains("... and 10 more classes"));
  CHECK_THAT(continuous.out, !Catch::Contains("fewer than 10 rows"));

  const auto unknown = run_lepton({"data", "inspect", "readings.parquet"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("--plugin: cannot tell the dataset plugin from \"readings.parquet\""));
}
