// bench/serve: requests per second and latency of `lepton serve` beside a Flask server running the
// same exported TorchScript files with PyTorch, measured by the same client in the same run.
//
//   build/bin/bench_serve [--seconds 3] [--clients 1,8,32]
//
// Two models are trained first (a few seconds each) and exported as TorchScript: the digits MLP a
// student of digits_distill.json is (64-16-10), and a Fashion-MNIST CNN (Debian's
// dataset-fashion-mnist). Both servers load the same .pt files and answer the same one-row JSON
// requests {"rows": [[...]]} with class probabilities. The client keeps one HTTP/1.1 connection
// per simulated user (cpp-httplib, keep-alive) and sends the next request when the last answer
// came back. Then thousands of malformed bodies go to Lepton's server, which must keep answering.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kFlask = R"py(
import json, sys, torch
from flask import Flask, request, jsonify
torch.set_num_threads(1)
models = {}
for spec in sys.argv[2:]:
    name, path = spec.split("=", 1)
    models[name] = torch.jit.load(path).eval()
app = Flask(__name__)

@app.post("/v1/models/<name>/predict")
def predict(name):
    model = models.get(name)
    if model is None:
        return jsonify(error="no model " + name), 404
    rows = torch.tensor(request.get_json()["rows"], dtype=torch.float32)
    with torch.no_grad():
        p = model(rows)
    classes = list(model.class_names)
    return jsonify(model=name, classes=classes,
                   predictions=[{"class": classes[int(r.argmax())], "probabilities": r.tolist()} for r in p])

import logging
logging.getLogger("werkzeug").setLevel(logging.ERROR)
print("Listening", flush=True)
app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
)py";

std::string run(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  if (pclose(pipe) != 0) throw std::runtime_error(command + " failed:\n" + out);
  return out;
}

// A child process whose stdout goes to a file; killed with SIGTERM when it goes out of scope.
struct Child {
  pid_t pid = -1;
  std::string log;
  Child(const std::vector<std::string>& args, std::string log_file) : log(std::move(log_file)) {
    pid = fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  std::string output() const {
    std::ifstream in(log);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  int stop() {
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Child() { stop(); }
};

void wait_for(const Child& child, const std::string& words) {
  for (int i = 0; i < 600; ++i) {
    if (child.output().find(words) != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("the server did not start:\n" + child.output());
}

// A port no one listens on now: the kernel's pick for a socket bound to port 0, then closed.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw std::runtime_error("cannot find a free port");
  ::close(fd);
  return ntohs(address.sin_port);
}

struct Load {
  double per_second = 0, p50_ms = 0, p99_ms = 0;
  long errors = 0;
};

// `clients` users, each sending `body` and waiting for the answer, for `seconds`.
Load measure(int port, const std::string& path, const std::string& body, int clients, double seconds) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<long> errors{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // as curl and Python's clients do: no Nagle wait between header and body
      client.set_read_timeout(30, 0);
      while (!go) std::this_thread::yield();
      while (!stop) {
        const auto start = std::chrono::steady_clock::now();
        const auto r = client.Post(path.c_str(), body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (!r || r->status != 200) {
          if (errors++ == 0)
            std::fprintf(stderr, "first error: %s\n", r ? (std::to_string(r->status) + " " + r->body).c_str()
                                                          : httplib::to_string(r.error()).c_str());
        }
        else latencies[static_cast<std::size_t>(c)].push_back(ms);
      }
    });
  const auto start = std::chrono::steady_clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Load out;
  out.errors = errors;
  if (all.empty()) return out;
  out.per_second = static_cast<double>(all.size()) / elapsed;
  out.p50_ms = all[all.size() / 2];
  out.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return out;
}

// One sample of the model's input, flattened: the row a client sends.
std::string one_row(std::size_t width, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::uniform_real_distribution<double> value(0, 1);
  json row = json::array();
  for (std::size_t i = 0; i < width; ++i) row.push_back(std::round(value(random) * 1000) / 1000);
  return json{{"rows", {row}}}.dump();
}

// Malformed bodies of every kind a careless or hostile client sends.
std::vector<std::pair<std::string, std::string>> malformed_bodies(std::size_t width, int count) {
  std::mt19937 random(7);
  std::vector<std::pair<std::string, std::string>> out;
  const std::string good = one_row(width, 1);
  for (int i = 0; i < count; ++i) {
    std::string body;
    std::string type = "application/json";
    switch (i % 8) {
      case 0: body = good.substr(0, random() % good.size()); break;                           // truncated JSON
      case 1: for (int k = 0; k < 200; ++k) body += static_cast<char>(random() % 256); break;  // random bytes
      case 2: body = json{{"rows", {{1, 2, 3}}}}.dump(); break;                               // wrong width
      case 3: body = json{{"rows", "text"}}.dump(); break;                                    // wrong type
      case 4: body = json{{"rows", json::array()}}.dump(); break;                             // empty
      case 5: body = "[" + std::string(1000, '[') ; break;                                    // deep nesting
      case 6: body = json{{"records", {{{"x0", 1}}}}}.dump(); break;                          // unknown names
      default: body = "a,b\n1,2\n"; type = "text/csv"; break;                                  // CSV for a TorchScript file
    }
    out.emplace_back(body, type);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::vector<int> clients{1, 8, 32};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--clients")) {
      clients.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string c; std::getline(list, c, ',');) clients.push_back(std::stoi(c));
    }
  }
  char pattern[] = "/tmp/lepton-bench-serve-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  const std::string work = pattern;
  const std::string lepton = LEPTON_BIN;
  const std::string db = "sqlite:///" + work + "/bench.db";

  // The two models, trained briefly and exported as TorchScript files.
  const json digits = {{"name", "digits"},
                       {"dataset", {{"plugin", "csv"}, {"path", LEPTON_SOURCE_DIR "/data/digits.csv.gz"}, {"scale", 0.0625},
                                    {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 0}}}}},
                       {"model", {{"plugin", "mlp"}, {"layers", 1}, {"hidden", 16}}},
                       {"task", {{"type", "train"}, {"epochs", 10}, {"lr", 0.01}, {"objective", {{"metric", "val_accuracy"}}}}},
                       {"search", {{"searcher", "random"}, {"trials", 1}, {"seed", 0}, {"space", json::object()}}}};
  const json fashion = {{"name", "fashion"},
                        {"dataset", {{"plugin", "idx"}, {"path", "/usr/share/datasets/fashion-mnist"}, {"split", {{"valid", 0.1}, {"seed", 0}}},
                                     {"subset", {{"train_per_class", 300}, {"valid_per_class", 50}}}}},
                        {"model", {{"plugin", "cnn"}, {"blocks", 2}, {"channels", 16}, {"hidden", 64}}},
                        {"task", {{"type", "train"}, {"epochs", 2}, {"lr", 0.003}, {"objective", {{"metric", "val_accuracy"}}}}},
                        {"search", {{"searcher", "random"}, {"trials", 1}, {"seed", 0}, {"space", json::object()}}}};
  std::vector<std::pair<std::string, std::size_t>> models;  // name, row width
  for (const auto& [experiment, width] : {std::pair{digits, std::size_t{64}}, std::pair{fashion, std::size_t{784}}}) {
    const std::string name = experiment["name"];
    std::ofstream(work + "/" + name + ".json") << experiment.dump(2);
    std::fprintf(stderr, "training %s ...\n", name.c_str());
    run(lepton + " run " + work + "/" + name + ".json --storage " + db + " --quiet");
    run(lepton + " export --storage " + db + " --study " + name + " --format torchscript -o " + work + "/" + name + ".pt");
    models.emplace_back(name, width);
  }

  const std::string script = work + "/flask_peer.py";
  std::ofstream(script) << kFlask;
  Child lepton_server({lepton, "serve", "--port", "0", "--model", "digits=" + work + "/digits.pt",
                       "--model", "fashion=" + work + "/fashion.pt"},
                      work + "/lepton.log");
  wait_for(lepton_server, "Listening on");
  std::smatch listening;
  const std::string log = lepton_server.output();
  if (!std::regex_search(log, listening, std::regex("Listening on http://127\\.0\\.0\\.1:([0-9]+)"))) return 1;
  const int lepton_port = std::stoi(listening[1]);
  const int flask_port = free_port();
  Child flask_server({"/usr/bin/python3", script, std::to_string(flask_port), "digits=" + work + "/digits.pt",
                      "fashion=" + work + "/fashion.pt"},
                     work + "/flask.log");
  wait_for(flask_server, "Listening");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf("One-row JSON requests on loopback, %g s per cell, %u cores; the same TorchScript files and client for both.\n\n",
              seconds, cores);
  std::printf("| model | clients | Lepton req/s | p50 ms | p99 ms | Flask req/s | p50 ms | p99 ms | Lepton/Flask req/s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& [name, width] : models) {
    const std::string path = "/v1/models/" + name + "/predict";
    const std::string body = one_row(width, 3);
    for (const int c : clients) {
      const Load l = measure(lepton_port, path, body, c, seconds);
      const Load f = measure(flask_port, path, body, c, seconds);
      std::printf("| %s | %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2fx |\n", name.c_str(), c, l.per_second, l.p50_ms,
                  l.p99_ms, f.per_second, f.p50_ms, f.p99_ms, f.per_second > 0 ? l.per_second / f.per_second : 0.0);
      if (l.errors || f.errors) std::printf("(errors: Lepton %ld, Flask %ld)\n", l.errors, f.errors);
      std::fflush(stdout);
    }
  }

  // Malformed requests: every one refused with a 4xx, none crashes the server, and it still answers.
  const auto bad = malformed_bodies(64, 4000);
  long refused = 0, other = 0;
  std::map<std::string, long> outcomes;  // "400", "no answer: ...", per kind of body
  {
    httplib::Client client("127.0.0.1", lepton_port);
    client.set_tcp_nodelay(true);
    for (std::size_t i = 0; i < bad.size(); ++i) {
      const auto& [body, type] = bad[i];
      const auto r = client.Post("/v1/models/digits/predict", body, type.c_str());
      if (r && r->status >= 400 && r->status < 500) ++refused;
      else ++other;
      ++outcomes["kind " + std::to_string(i % 8) + ": " + (r ? std::to_string(r->status) : "no answer (" + httplib::to_string(r.error()) + ")")];
    }
  }
  for (const auto& [what, n] : outcomes) std::fprintf(stderr, "  %s x%ld\n", what.c_str(), n);
  const Load after = measure(lepton_port, "/v1/models/digits/predict", one_row(64, 3), 1, 0.5);
  std::printf("\nMalformed bodies: %zu sent, %ld refused with a 4xx, %ld otherwise; afterwards the server answered "
              "%.0f req/s with %ld errors.\n", bad.size(), refused, other, after.per_second, after.errors);
  const int code = lepton_server.stop();
  std::printf("SIGTERM: lepton serve exited with %d.\n", code);
  fs::remove_all(work);
  return 0;
}
