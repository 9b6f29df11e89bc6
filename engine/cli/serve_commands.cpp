// `lepton serve`: loads each model, binds, prints where it listens, and serves until Ctrl-C or
// SIGTERM; a watcher thread then stops the server, which lets its requests in flight finish, and
// the command exits 0.
#include "cli/serve_commands.hpp"

#include "cli/signals.hpp"

#include "plugins/registry.hpp"
#include "serve/server.hpp"
#include "train/checkpoint.hpp"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

namespace lepton::cli {

namespace {

namespace fs = std::filesystem;
using lepton::engine::ServedModel;

// "NAME=PATH", or PATH named after its file or folder ("models/digits" -> digits, "a.pt" -> a).
std::pair<std::string, std::string> model_spec(const std::string& given) {
  const auto equals = given.find('=');
  if (equals != std::string::npos && equals > 0 && given.substr(0, equals).find('/') == std::string::npos)
    return {given.substr(0, equals), given.substr(equals + 1)};
  fs::path path = fs::path(given).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();  // "models/digits/"
  if (path.filename() == engine::kModelCardFile || path.filename() == engine::kWeightsFile) path = path.parent_path();
  const std::string name = path.stem().string();
  return {name.empty() ? "model" : name, given};
}

// A private folder for the files requests are read from, removed when the server ends.
struct ScratchFolder {
  std::string path;
  ScratchFolder() {
    std::string pattern = (fs::temp_directory_path() / "lepton-serve-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot make a scratch folder in " + fs::temp_directory_path().string());
    path = pattern;
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

int serve_command(const ServeArgs& args) {
  engine::Registry registry;
  registry.load_default();
  const ScratchFolder scratch;
  std::vector<std::unique_ptr<ServedModel>> models;
  for (const auto& given : args.models) {
    const auto [name, path] = model_spec(given);
    models.push_back(std::make_unique<ServedModel>(name, path, registry, scratch.path));
  }
  std::vector<json> described;
  for (const auto& m : models) described.push_back(m->describe());

  engine::ServeOptions options;
  options.host = args.host;
  options.port = args.port;
  options.threads = args.threads;
  options.batch.max_rows = args.max_batch;
  options.batch.max_delay = std::chrono::microseconds(static_cast<std::int64_t>(args.max_delay_ms * 1000));
  options.max_body = static_cast<std::size_t>(args.max_body);
  engine::ModelServer server(std::move(models), options);
  const int port = server.bind();

  const std::string url = "http://" + args.host + ":" + std::to_string(port);
  for (const auto& d : described)
    std::cout << "  " << d["name"].get<std::string>() << ": " << d["path"].get<std::string>() << " (" << d["format"].get<std::string>()
              << ", " << d["classes"].size() << " classes, input " << d["input_shape"].dump() << ") at " << url
              << "/v1/models/" << d["name"].get<std::string>() << "/predict\n";
  std::cout << "Listening on " << url << " (GET /v1/models, /health, /metrics); Ctrl-C or SIGTERM stops after the "
            << "requests in flight." << std::endl;

  // The first Ctrl-C or SIGTERM stops the server after its requests in flight; a second ends the
  // process at once.
  install_stop_handlers();
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done && !stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.stop();
  });
  server.serve();
  done = true;
  watcher.join();
  const std::string by = stop_signal_name();
  std::cout << "Stopped" << (by.empty() ? "" : " by " + by) << ": " << server.answered()
            << " prediction request(s) answered." << std::endl;
  remove_stop_handlers();
  return 0;
}

ServeCommands::ServeCommands(CLI::App& app) {
  serve_ = app.add_subcommand("serve", "Answer predictions over HTTP with exported models, batching concurrent requests");
  serve_->add_option("--model", args_.models, "An exported model folder or TorchScript file, as PATH or NAME=PATH "
                                             "(repeat for several models; the name defaults to the folder's or file's)")
      ->required();
  serve_->add_option("--host", args_.host, "Address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)");
  serve_->add_option("--port", args_.port, "Port (default 8080; 0 picks a free one and prints it)")->check(CLI::Range(0, 65535));
  serve_->add_option("--threads", args_.threads, "Connections answered at once (default 32)")->check(CLI::Range(1, 4096));
  serve_->add_option("--max-batch", args_.max_batch, "Rows a batch may join from concurrent requests (default 64)")
      ->check(CLI::Range(1, 1'000'000));
  serve_->add_option("--max-delay-ms", args_.max_delay_ms,
                     "Longest a batch waits for requests still being read (default 2; a lone request never waits)")
      ->check(CLI::Range(0.0, 10'000.0));
  serve_->add_option("--max-body", args_.max_body, "Largest request body, e.g. 64MB (default); larger ones get 413")
      ->transform(CLI::AsSizeValue(true));
  serve_->footer(R"(
POST /v1/models/NAME/predict takes
  {"rows": [[v1, v2, ...], ...]}            values in the training file's column order, the label left out
  {"records": [{"column": v, ...}, ...]}    values by column name; null or a missing key is a missing value
  {"images": ["<base64>", ...]}             PNG, JPEG, GIF or BMP, for models trained on image folders
  a CSV body (Content-Type: text/csv), an image body (image/png, image/jpeg) or multipart/form-data files
and answers {"model", "classes", "predictions": [{"class", "probabilities"}, ...]}. A model folder reads
requests with its dataset plugin as `lepton predict` reads files (columns by name, missing values,
unseen categories, image size and normalization); a TorchScript file takes rows of numbers.
Errors are JSON {"error", "field"}: 400 for a malformed request, 404 for an unknown model, 413 for a
body over --max-body, 415 for a Content-Type no model reads.
Examples:
  lepton serve --model models/teacher --port 8080
  curl -s localhost:8080/v1/models/teacher/predict -H 'Content-Type: text/csv' --data-binary @rows.csv
  lepton serve --model digits=models/teacher --model ants=models/hymenoptera --max-batch 128)");
}

std::optional<int> ServeCommands::run() const {
  if (*serve_) return serve_command(args_);
  return std::nullopt;
}

}  // namespace lepton::cli
