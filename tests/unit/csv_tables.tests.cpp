// The csv plugin on tables as they come: Titanic's raw file (text columns, missing cells, names and
// tickets), missing-value options, per-column types, separate files, and predictions on new files
// with unseen categories.
#include "plugins/registry.hpp"
#include "support/plugins.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

using lepton::json;
using namespace lepton::engine;

namespace {

const std::string kTitanic = std::string(LEPTON_SOURCE_DIR) + "/data/titanic.csv";

lepton::DataSplits load(const json& config) { return lepton::test::load_dataset("csv", config); }
lepton::DataSplits predict(const lepton::DataSplits& trained, const json& config, const std::string& file) {
  return lepton::test::predict_dataset("csv", trained, config, file);
}
std::string message_of(const json& config) { return lepton::test::dataset_error("csv", config); }

// Titanic's Age cells, by row (empty where missing): the name is the only quoted field with commas.
std::vector<std::string> titanic_ages() {
  std::ifstream in(kTitanic);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> ages;
  while (std::getline(in, line)) {
    std::stringstream rest(line.substr(line.find("\",") + 2));
    std::string sex, age;
    std::getline(rest, sex, ',');
    std::getline(rest, age, ',');
    ages.push_back(age);
  }
  return ages;
}

bool has_nan(const lepton::Split& s) { return s.size() > 0 && torch::isnan(s.x).any().item<bool>(); }

}  // namespace

TEST_CASE("csv reads Titanic's raw file: types inferred, free text and IDs left out, gaps filled", "[csv]") {
  const auto data = load({{"path", "data/titanic.csv"}, {"label", "Survived"}, {"split", {{"seed", 3}}}});
  CHECK(data.feature_names == std::vector<std::string>{"Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"});
  CHECK(data.class_names == std::vector<std::string>{"0", "1"});
  REQUIRE(data.categorical.size() == 2);
  CHECK(data.categorical[0].column == 1);
  CHECK(data.categorical[0].values == std::vector<std::string>{"female", "male"});
  CHECK(data.categorical[1].column == 6);
  CHECK(data.categorical[1].values == std::vector<std::string>{"C", "Q", "S"});
  CHECK(data.info["rows"] == 891);
  CHECK(data.info["missing_values"] == 177 + 2);  // Age and Embarked; Cabin is left out
  const std::string notices = data.info["notices"].dump();
  for (const char* column : {"PassengerId", "Name", "Ticket", "Cabin"}) CHECK_THAT(notices, Catch::Contains(column));
  CHECK_FALSE(has_nan(data.train));
  CHECK_FALSE(has_nan(data.valid));
  CHECK_FALSE(has_nan(data.test));

  // A missing age is the training split's median age, whatever split the row is in.
  const auto ages = titanic_ages();
  REQUIRE(ages.size() == 891);
  std::vector<double> train_ages;
  const auto train_rows = data.train.index.contiguous();
  for (std::int64_t i = 0; i < train_rows.size(0); ++i) {
    const std::string& age = ages[static_cast<std::size_t>(train_rows[i].item<std::int64_t>())];
    if (!age.empty()) train_ages.push_back(std::stod(age));
  }
  std::sort(train_ages.begin(), train_ages.end());
  const double median = train_ages[(train_ages.size() - 1) / 2];
  int filled = 0;
  for (const auto* split : {&data.train, &data.valid, &data.test}) {
    const auto rows = split->index.contiguous();
    for (std::int64_t i = 0; i < rows.size(0); ++i)
      if (ages[static_cast<std::size_t>(rows[i].item<std::int64_t>())].empty()) {
        CHECK(split->x[i][2].item<float>() == Approx(median));
        ++filled;
      }
  }
  CHECK(filled == 177);
}

TEST_CASE("csv missing cells: configurable tokens, mean or median, indicators, most frequent category", "[csv]") {
  lepton::test::TempDir dir;
  dir.write("gaps.csv",
            "size,colour,label\n1,red,a\nNA,blue,b\n3,?,a\n-,red,b\n5, n/a ,a\n6,red,b\n100,blue,a\n8,red,b\n");
  const json base = {{"path", dir.file("gaps.csv")}, {"split", {{"valid", 0.25}, {"test", 0.0}, {"seed", 1}}}};

  json config = base;
  config["missing"] = {"NA", "?", "-", "n/a"};
  config["impute"] = "mean";
  config["missing_indicators"] = true;
  const auto data = load(config);
  CHECK(data.feature_names == std::vector<std::string>{"size", "colour", "size_missing", "colour_missing"});
  REQUIRE(data.categorical.size() == 1);
  CHECK(data.categorical[0].values == std::vector<std::string>{"blue", "red"});
  CHECK(data.info["missing_values"] == 4);
  const auto plan = data.fitted.at("plan");
  // The fills come from the training rows alone.
  std::vector<float> sizes;
  std::vector<float> colours;
  const auto x = data.train.x;
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    if (x[i][2].item<float>() == 0) sizes.push_back(x[i][0].item<float>());
    if (x[i][3].item<float>() == 0) colours.push_back(x[i][1].item<float>());
  }
  double mean = 0;
  for (const auto s : sizes) mean += s / static_cast<double>(sizes.size());
  CHECK(plan[0]["fill"].get<double>() == Approx(mean));
  const auto reds = std::count(colours.begin(), colours.end(), 1.0f);
  CHECK(plan[1]["fill"].get<float>() == (2 * reds > static_cast<long>(colours.size()) ? 1.0f : 0.0f));  // ties: blue
  for (std::int64_t i = 0; i < x.size(0); ++i) {
    if (x[i][2].item<float>() == 1) CHECK(x[i][0].item<float>() == Approx(mean));
    if (x[i][3].item<float>() == 1) CHECK(x[i][1].item<float>() == plan[1]["fill"].get<float>());
  }

  // With the default tokens, "-" is text: the size column becomes a category.
  const auto defaults = load(base);
  REQUIRE(defaults.categorical.size() == 2);
  CHECK(defaults.categorical[0].values == std::vector<std::string>{"-", "1", "100", "3", "5", "6", "8"});
}

TEST_CASE("csv types override the inferred ones, and a text cell in a numeric column names its line", "[csv]") {
  const json base = {{"path", "data/titanic.csv"}, {"label", "Survived"}};
  json config = base;
  config["types"] = {{"Pclass", "categorical"}, {"Embarked", "drop"}, {"Ticket", "categorical"}};
  const auto data = load(config);
  CHECK(data.feature_names == std::vector<std::string>{"Pclass", "Sex", "Age", "SibSp", "Parch", "Ticket", "Fare"});
  REQUIRE(data.categorical.size() == 3);
  CHECK(data.categorical[0].values == std::vector<std::string>{"1", "2", "3"});
  CHECK(data.categorical[2].values.size() == 681);  // every ticket, kept because the user asked

  config = base;
  config["types"] = {{"Sex", "numeric"}};
  CHECK_THAT(message_of(config), Catch::StartsWith("dataset.types.Sex: ") &&
                                     Catch::Contains("column \"Sex\" is declared numeric, but line 2 holds \"male\""));
  config["types"] = {{"Sx", "numeric"}};
  CHECK_THAT(message_of(config), Catch::StartsWith("dataset.types.Sx: ") && Catch::Contains("did you mean \"Sex\""));
  config["types"] = {{"Sex", "number"}};
  CHECK_THAT(message_of(config), Catch::Contains("expected \"numeric\", \"categorical\" or \"drop\""));
}

TEST_CASE("csv reads separate train, valid and test files, the split making only what is missing", "[csv]") {
  lepton::test::TempDir dir;
  std::ifstream in(kTitanic);
  std::string header, line;
  std::getline(in, header);
  std::ofstream train(dir.file("train.csv")), valid(dir.file("valid.csv")), test(dir.file("test.csv"));
  train << header << "\n";
  valid << header << "\n";
  test << header << "\n";
  for (int row = 0; std::getline(in, line); ++row) (row < 600 ? train : row < 700 ? valid : test) << line << "\n";
  train.close();
  valid.close();
  test.close();

  const auto given = load({{"path", {{"train", dir.file("train.csv")}, {"test", dir.file("test.csv")}}},
                           {"label", "Survived"}, {"split", {{"valid", 0.2}, {"seed", 0}}}});
  CHECK(given.test.size() == 191);
  CHECK(given.valid.size() == 120);  // 20% of the training file
  CHECK(given.train.size() == 480);
  // Row numbers run across the files, so the splits stay disjoint.
  CHECK(given.test.index.min().item<std::int64_t>() == 600);
  CHECK(torch::cat({given.train.index, given.valid.index}).max().item<std::int64_t>() < 600);

  const auto all = load({{"path", {{"train", dir.file("train.csv")}, {"valid", dir.file("valid.csv")}, {"test", dir.file("test.csv")}}},
                         {"label", "Survived"}});
  CHECK(all.train.size() == 600);
  CHECK(all.valid.size() == 100);
  CHECK(all.test.size() == 191);

  dir.write("other.csv", "a,b,Survived\n1,2,0\n");
  CHECK_THAT(message_of({{"path", {{"train", dir.file("train.csv")}, {"test", dir.file("other.csv")}}}, {"label", "Survived"}}),
             Catch::StartsWith("dataset.path.test: other.csv has columns"));
  CHECK_THAT(message_of({{"path", {{"valid", dir.file("valid.csv")}}}}), Catch::StartsWith("dataset.path: expected at least"));
}

TEST_CASE("csv predicts new files by column name, with unseen categories and missing cells", "[csv]") {
  const json config = {{"path", "data/titanic.csv"}, {"label", "Survived"}, {"standardize", true}};
  const auto trained = load(config);
  lepton::test::TempDir dir;
  // Columns in another order, no label, a port never seen, a missing sex and age.
  dir.write("new.csv",
            "Name,Embarked,Fare,Parch,SibSp,Age,Sex,Pclass,Cabin,Ticket,PassengerId\n"
            "\"Doe, Mr. John\",X,8.05,0,0,,male,3,,A1,1000\n"
            "\"Roe, Mrs. Jane\",C,71.28,0,1,38,NA,1,C85,PC 1,1001\n");
  const auto p = predict(trained, config, dir.file("new.csv"));
  CHECK(p.test.size() == 2);
  CHECK_FALSE(p.test.y.defined());
  CHECK_FALSE(has_nan(p.test));
  CHECK(p.info["unseen_categories"] == 1);
  CHECK(p.info["missing_values"] == 3);  // the unseen port, the sex and the age
  CHECK_THAT(p.info["notices"].dump(), Catch::Contains("never saw"));
  CHECK(p.feature_names == trained.feature_names);
  REQUIRE(p.categorical.size() == 2);

  // The same passenger read from the training file gives the same features.
  dir.write("known.csv", "PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked\n"
                         "2,1,1,\"Cumings, Mrs. John Bradley (Florence Briggs Thayer)\",female,38,1,0,PC 17599,71.2833,C85,C\n");
  const auto known = predict(trained, config, dir.file("known.csv"));
  REQUIRE(known.test.y.defined());
  CHECK(known.test.y[0].item<std::int64_t>() == 1);
  const auto all = torch::cat({trained.train.x, trained.valid.x, trained.test.x});
  const auto rows = torch::cat({trained.train.index, trained.valid.index, trained.test.index});
  const auto at = (rows == 1).nonzero().item<std::int64_t>();
  CHECK(torch::allclose(known.test.x[0], all[at]));
}

TEST_CASE("csv reads sklearn's header even when the class names fill a row's width", "[csv]") {
  // iris.csv starts "150,4,setosa,versicolor,virginica": as many cells as a data row (4 features and
  // the label), so only the text of the class names tells it from a row of column names.
  const auto iris = load({{"path", "data/iris.csv"}});
  CHECK(iris.class_names == std::vector<std::string>{"setosa", "versicolor", "virginica"});
  CHECK(iris.feature_names == std::vector<std::string>{"x0", "x1", "x2", "x3"});
  CHECK(iris.info["rows"] == 150);
  lepton::test::TempDir dir;
  dir.write("numbers.csv", "10,4,1.5,2.5,0\n11,4,1.5,2.5,1\n12,4,1.5,2.5,0\n");  // a first row of data
  CHECK(load({{"path", dir.file("numbers.csv")}, {"split", {{"valid", 0.34}, {"test", 0.0}, {"stratify", false}}}})
            .info["rows"] == 3);
}
