// `lepton serve` end to end: the real binary serving real exported models on loopback, asked by a
// real HTTP client (cpp-httplib's). Served probabilities equal `lepton predict`'s; every error
// status names its field; concurrent clients are batched; SIGTERM drains and exits 0.
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <lepton/config.hpp>

#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <catch2/catch.hpp>
#include <httplib.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

using lepton::json;
using lepton::test::BackgroundProcess;
using lepton::test::read_file;
using lepton::test::run_lepton_ok;
using lepton::test::TempDir;

namespace {

const std::string kTitanic = std::string(LEPTON_SOURCE_DIR) + "/data/titanic.csv";
const std::string kModes = std::string(LEPTON_SOURCE_DIR) + "/tests/fixtures/image_modes";

// A server started in the background; the port is read from the line it prints once listening.
struct Server {
  BackgroundProcess process;
  int port = 0;
  explicit Server(const std::vector<std::string>& args, const std::string& log)
      : process([&] {
          std::vector<std::string> all{LEPTON_BIN, "serve", "--port", "0"};
          all.insert(all.end(), args.begin(), args.end());
          return all;
        }(), log) {
    const std::regex listening("Listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 600 && port == 0; ++i) {
      std::smatch m;
      const std::string out = process.out();
      if (std::regex_search(out, m, listening)) port = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    INFO(process.err());
    REQUIRE(port > 0);
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    c.set_tcp_nodelay(true);
    return c;
  }
};

json post_json(const httplib::Client& c, const std::string& path, const json& body, int expected) {
  auto& client = const_cast<httplib::Client&>(c);
  const auto r = client.Post(path.c_str(), body.dump(), "application/json");
  REQUIRE(r);
  INFO(path << " -> " << r->status << " " << r->body);
  CHECK(r->status == expected);
  return json::parse(r->body);
}

std::string base64(const std::string& bytes) {
  using namespace boost::archive::iterators;
  using Encoder = base64_from_binary<transform_width<std::string::const_iterator, 6, 8>>;
  std::string out(Encoder(bytes.cbegin()), Encoder(bytes.cend()));
  out.append((3 - bytes.size() % 3) % 3, '=');
  return out;
}

// The largest difference between two predictions' class probabilities.
double difference(const json& a, const json& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t c = 0; c < a[i]["probabilities"].size(); ++c)
      worst = std::max(worst, std::abs(a[i]["probabilities"][c].get<double>() - b[i]["probabilities"][c].get<double>()));
  return worst;
}

// A counter's value in the Prometheus text, e.g. lepton_batches_total{model="titanic"}.
double metric(const std::string& text, const std::string& series) {
  const auto at = text.find(series + " ");
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + series.size() + 1));
}

// Trains one trial of `experiment` and exports it as a folder and as a TorchScript file.
void train_and_export(const TempDir& dir, const json& experiment) {
  const std::string url = dir.sqlite_url();
  run_lepton_ok({"run", dir.write_json("e.json", experiment), "--storage", url, "--quiet"});
  run_lepton_ok({"export", "--storage", url, "--study", experiment["name"], "-o", dir.file("model")});
  run_lepton_ok({"export", "--storage", url, "--study", experiment["name"], "--format", "torchscript", "-o", dir.file("model.pt")});
  if (experiment["model"]["plugin"] == "mlp")
    run_lepton_ok({"export", "--storage", url, "--study", experiment["name"], "--format", "torchscript", "--quantize", "int8",
                   "-o", dir.file("int8.pt")});
}

}  // namespace

TEST_CASE("lepton serve answers as lepton predict does, names the field of every bad request, batches and drains",
          "[e2e][serve][slow]") {
  TempDir dir;
  train_and_export(dir, {{"name", "titanic"},
                         {"dataset", {{"plugin", "csv"}, {"path", kTitanic}, {"label", "Survived"}, {"standardize", true},
                                      {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 0}}}}},
                         {"model", {{"plugin", "mlp"}, {"hidden", 16}}},
                         {"task", {{"type", "train"}, {"epochs", 20}, {"lr", 0.01}, {"objective", {{"metric", "val_accuracy"}}}}},
                         {"search", {{"searcher", "random"}, {"trials", 1}, {"seed", 0}, {"space", json::object()}}}});
  Server server({"--model", "titanic=" + dir.file("model"), "--model", dir.file("model.pt"), "--model", dir.file("int8.pt"),
                 "--max-body", "200KB"},
                dir.file("serve"));
  auto client = server.client();

  const auto health = client.Get("/health");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(json::parse(health->body)["models"] == json{"titanic", "model", "int8"});
  const auto described = client.Get("/v1/models/titanic");
  REQUIRE(described);
  CHECK(json::parse(described->body)["classes"] == json{"0", "1"});

  // The whole raw file as a CSV body: the probabilities lepton predict gives.
  const std::string csv = read_file(kTitanic);
  const auto whole = client.Post("/v1/models/titanic/predict", csv, "text/csv");
  REQUIRE(whole);
  INFO(whole->body.substr(0, 300));
  REQUIRE(whole->status == 200);
  const json served = json::parse(whole->body)["predictions"];
  const json predicted = json::parse(run_lepton_ok({"predict", "--model", dir.file("model"), "--data", kTitanic, "--json"}).out);
  CHECK(served.size() == 891);
  CHECK(difference(served, predicted["predictions"]) < 1e-6);

  // Records by column name, rows in the file's order (the label left out), and the same passengers as
  // CSV: a missing age (null, or left out) and a port never seen in training read as missing.
  const json records = {{{"Pclass", 3}, {"Name", "Braund, Mr. Owen Harris"}, {"Sex", "male"}, {"Age", nullptr}, {"SibSp", 1},
                         {"Parch", 0}, {"Fare", 7.25}, {"Embarked", "X"}, {"PassengerId", 1}, {"Ticket", "A/5"}, {"Cabin", nullptr}},
                        {{"Pclass", 1}, {"Name", "Cumings, Mrs. John"}, {"Sex", "female"}, {"SibSp", 1}, {"Parch", 0},
                         {"Fare", 71.28}, {"Embarked", "C"}, {"PassengerId", 2}, {"Ticket", "PC 17599"}}};
  const json rows = {{1, 3, "Braund, Mr. Owen Harris", "male", nullptr, 1, 0, "A/5", 7.25, nullptr, "X"},
                     {2, 1, "Cumings, Mrs. John", "female", nullptr, 1, 0, "PC 17599", 71.28, "", "C"}};
  const json by_records = post_json(client, "/v1/models/titanic/predict", {{"records", records}}, 200)["predictions"];
  const json by_rows = post_json(client, "/v1/models/titanic/predict", {{"rows", rows}}, 200)["predictions"];
  CHECK(difference(by_records, by_rows) < 1e-12);
  CHECK(by_records[0]["class"] == "0");  // a third-class man
  CHECK(by_records[1]["class"] == "1");  // a first-class woman

  // Bad requests: the status, and the field to fix.
  auto refused = [&](const httplib::Result& r, int status, const std::string& field, const std::string& words) {
    REQUIRE(r);
    INFO(r->status << " " << r->body);
    CHECK(r->status == status);
    const json body = json::parse(r->body);
    if (!field.empty()) CHECK(body["field"] == field);
    CHECK_THAT(body["error"].get<std::string>(), Catch::Contains(words));
  };
  refused(client.Post("/v1/models/titanic/predict", "{\"rows\": [[1, 2,", "application/json"), 400, "body", "malformed JSON");
  refused(client.Post("/v1/models/titanic/predict", "{\"rows\": \"\xff\xfe", "application/json"), 400, "body",
          "malformed JSON");  // bytes that are not UTF-8, quoted back in the message
  refused(client.Post("/v1/models/titanic/predict", json{{"rows", {{1, 2, 3}}}}.dump(), "application/json"), 400, "rows[0]",
          "expected 11 values, one per column (PassengerId, Pclass, Name");
  refused(client.Post("/v1/models/titanic/predict", json{{"records", {1}}}.dump(), "application/json"), 400, "records[0]",
          "expected an object");
  refused(client.Post("/v1/models/titanic/predict", json{{"records", {{{"Pclass", {1, 2}}}}}}.dump(), "application/json"),
          400, "records[0].Pclass", "expected a number, a string or null");
  refused(client.Post("/v1/models/titanic/predict", json{{"rowz", json::array()}}.dump(), "application/json"), 400, "rowz",
          "unknown field");
  // A key a record leaves out is a missing value, filled as in training.
  CHECK(post_json(client, "/v1/models/titanic/predict", {{"records", json::array({{{"Pclass", 1}}})}}, 200)["predictions"].size() == 1);
  refused(client.Post("/v1/models/nope/predict", "{}", "application/json"), 404, "model", "no model \"nope\"; this server has int8, model, titanic");
  refused(client.Post("/v1/models/titanic/predict", std::string(300'000, 'x'), "text/csv"), 413, "body", "limit of 200000 bytes");
  refused(client.Post("/v1/models/titanic/predict", "<xml/>", "application/xml"), 415, "Content-Type", "application/json");
  // curl -d sends JSON as a form; an object is read as JSON all the same.
  CHECK(client.Post("/v1/models/titanic/predict", json{{"records", records}}.dump(), "application/x-www-form-urlencoded")->status == 200);
  refused(client.Get("/v2/models"), 404, "path", "no route GET /v2/models");

  // The TorchScript file takes rows of numbers: the samples as its preprocess() reads them.
  const json ts = json::parse(client.Get("/v1/models/model")->body);
  CHECK(ts["format"] == "torchscript");
  const auto width = ts["input_shape"][0].get<std::size_t>();
  const json zeros = json::array({std::vector<double>(width, 0.0)});
  const json float_row = post_json(client, "/v1/models/model/predict", {{"rows", zeros}}, 200)["predictions"];
  CHECK(float_row.size() == 1);
  // The int8 export is served like any other, within int8's rounding of the float file.
  const json int8_row = post_json(client, "/v1/models/int8/predict", {{"rows", zeros}}, 200)["predictions"];
  CHECK(difference(int8_row, float_row) < 0.05);
  refused(client.Post("/v1/models/model/predict", json{{"rows", {{1, "a"}}}}.dump(), "application/json"), 400, "rows[0]",
          "expected numbers");
  refused(client.Post("/v1/models/model/predict", csv, "text/csv"), 415, "body", "takes \"rows\" or \"records\" of numbers");

  // Eight clients at once, one passenger per request: every answer right, and requests joined into batches.
  const json one = {{"records", json::array({records[1]})}};
  const double expected = by_records[1]["probabilities"][1].get<double>();
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t)
    clients.emplace_back([&] {
      auto c = server.client();
      for (int i = 0; i < 30; ++i) {
        const auto r = c.Post("/v1/models/titanic/predict", one.dump(), "application/json");
        if (!r || r->status != 200 ||
            std::abs(json::parse(r->body)["predictions"][0]["probabilities"][1].get<double>() - expected) > 1e-6)
          ++wrong;
      }
    });
  for (auto& t : clients) t.join();
  CHECK(wrong == 0);
  const std::string metrics = client.Get("/metrics")->body;
  const double batched = metric(metrics, "lepton_batch_requests_total{model=\"titanic\"}");
  const double batches = metric(metrics, "lepton_batches_total{model=\"titanic\"}");
  std::printf("serve: %g requests in %g batches\n", batched, batches);
  CHECK(batched >= 240);
  CHECK(batches < batched);  // some requests shared a forward pass
  CHECK(metric(metrics, "lepton_requests_total{model=\"titanic\",code=\"400\"}") >= 5);
  CHECK(metric(metrics, "lepton_request_duration_seconds_count{model=\"titanic\"}") >= 250);

  // SIGTERM while clients are busy: every request that got an answer got a right one, and the server exits 0.
  std::atomic<bool> running{true};
  std::atomic<int> answered{0};
  std::vector<std::thread> busy;
  for (int t = 0; t < 4; ++t)
    busy.emplace_back([&] {
      auto c = server.client();
      while (running) {
        const auto r = c.Post("/v1/models/titanic/predict", one.dump(), "application/json");
        if (!r) break;  // the server is gone
        if (r->status != 200) ++wrong;
        ++answered;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  server.process.kill(SIGTERM);
  CHECK(server.process.wait() == 0);
  running = false;
  for (auto& t : busy) t.join();
  CHECK(wrong == 0);
  CHECK(answered > 0);
  CHECK_THAT(server.process.out(), Catch::Contains("Stopped by SIGTERM"));
}

TEST_CASE("lepton serve reads images as base64 JSON, image bodies and multipart files, as predict reads them",
          "[e2e][serve][images][slow]") {
  TempDir dir;
  train_and_export(dir, {{"name", "colours"},
                         {"dataset", {{"plugin", "images"}, {"path", kModes}, {"size", {16, 16}}, {"split", {{"valid", 0.25}, {"seed", 0}}}}},
                         {"model", {{"plugin", "cnn"}, {"channels", 4}, {"blocks", 1}, {"hidden", 8}}},
                         {"task", {{"type", "train"}, {"epochs", 4}, {"lr", 0.01}, {"objective", {{"metric", "val_accuracy"}}}}},
                         {"search", {{"searcher", "random"}, {"trials", 1}, {"seed", 0}, {"space", json::object()}}}});
  Server server({"--model", dir.file("model")}, dir.file("serve"));
  auto client = server.client();
  const std::string red = kModes + "/red/rgb.png", blue = kModes + "/blue/cmyk.jpg";
  auto predicted = [&](const std::string& file) {
    return json::parse(run_lepton_ok({"predict", "--model", dir.file("model"), "--data", file, "--json"}).out)["predictions"][0];
  };
  const json expected = {predicted(red), predicted(blue)};

  const json as_json = post_json(client, "/v1/models/model/predict",
                                 {{"images", {base64(read_file(red)), "data:image/jpeg;base64," + base64(read_file(blue))}}}, 200);
  CHECK(difference(as_json["predictions"], expected) < 1e-6);
  const auto body = client.Post("/v1/models/model/predict", read_file(blue), "image/jpeg");
  REQUIRE(body);
  REQUIRE(body->status == 200);
  CHECK(difference(json::parse(body->body)["predictions"], json::array({expected[1]})) < 1e-6);
  const httplib::MultipartFormDataItems form = {{"a", read_file(red), "red.png", "image/png"},
                                                {"b", read_file(blue), "blue.jpg", "image/jpeg"}};
  const auto multipart = client.Post("/v1/models/model/predict", form);
  REQUIRE(multipart);
  REQUIRE(multipart->status == 200);
  CHECK(difference(json::parse(multipart->body)["predictions"], expected) < 1e-6);

  const json not_base64 = post_json(client, "/v1/models/model/predict", {{"images", {"%%%"}}}, 400);
  CHECK(not_base64["field"] == "images[0]");
  const json not_image = post_json(client, "/v1/models/model/predict", {{"images", {base64("plain text")}}}, 400);
  CHECK_THAT(not_image["error"].get<std::string>(), Catch::Contains("not a PNG, JPEG, GIF or BMP image"));
  const json truncated =
      post_json(client, "/v1/models/model/predict", {{"images", {base64(read_file(blue).substr(0, 300))}}}, 400);
  CHECK(truncated["field"] == "images");
  server.process.kill(SIGTERM);
  CHECK(server.process.wait() == 0);
}
