// The HTTP side of `lepton serve`: routes, error bodies that name the field to fix, and counting.
// cpp-httplib runs each connection on a thread of its pool; predictions meet in each model's
// Batcher, which runs the network.
#include "serve/server.hpp"

#include "serve/request_body.hpp"
#include "serve/serve_metrics.hpp"

#include <httplib.h>
#include <sys/socket.h>
#include <torch/torch.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

namespace lepton::engine {

namespace {

constexpr const char* kRoutes = "POST /v1/models/NAME/predict, GET /v1/models, GET /v1/models/NAME, GET /health, GET /metrics";

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // Invalid UTF-8 a client sent (and an error message quotes) becomes U+FFFD instead of failing.
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& field, const std::string& message) {
  json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  send_json(res, status, body);
}

// {"model": ..., "classes": [...], "predictions": [{"class": ..., "probabilities": [...]}, ...]}
json prediction_body(const ServedModel& model, const at::Tensor& probabilities) {
  const auto p = probabilities.to(torch::kFloat64).contiguous();
  const auto* values = p.data_ptr<double>();
  const auto n = p.size(0), classes = p.size(1);
  json predictions = json::array();
  for (std::int64_t i = 0; i < n; ++i) {
    const double* row = values + i * classes;
    const auto best = std::max_element(row, row + classes) - row;
    predictions.push_back({{"class", model.class_names().at(static_cast<std::size_t>(best))},
                           {"probabilities", std::vector<double>(row, row + classes)}});
  }
  return {{"model", model.name()}, {"classes", model.class_names()}, {"predictions", std::move(predictions)}};
}

}  // namespace

struct ModelServer::Impl {
  ServeOptions options;
  std::vector<std::unique_ptr<ServedModel>> models;
  std::map<std::string, const ServedModel*> by_name;
  ServeMetrics metrics;
  std::map<std::string, std::unique_ptr<Batcher>> batchers;  // destroyed after the server below
  httplib::Server http;
  int listening_socket = -1;
  std::atomic<std::int64_t> answered{0};

  std::string model_names() const {
    std::string names;
    for (const auto& [name, model] : by_name) names += (names.empty() ? "" : ", ") + name;
    return names;
  }

  void predict(const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    const std::string name = req.matches[1];
    const auto found = by_name.find(name);
    int status = 200;
    if (found == by_name.end()) {
      status = 404;
      send_error(res, status, "model", "no model \"" + name + "\"; this server has " + model_names());
    } else {
      const ServedModel& model = *found->second;
      try {
        Batcher::Reading reading(*batchers.at(name));
        std::vector<FormFile> files;
        for (const auto& [key, f] : req.files) files.push_back({f.filename, f.content_type, f.content});
        const ModelInput input = read_body(req.get_header_value("Content-Type"), req.body, files);
        send_json(res, 200, prediction_body(model, reading.predict(model.samples(input))));
      } catch (const BadRequest& e) {
        status = e.status();
        send_error(res, status, e.field(), e.what());
      } catch (const std::exception& e) {
        status = 500;
        send_error(res, status, "", std::string("the model failed on this request: ") + e.what());
      }
    }
    ++answered;
    metrics.request(found == by_name.end() ? "" : name, status,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  void routes() {
    http.Post(R"(/v1/models/([^/]+)/predict)", [this](const httplib::Request& req, httplib::Response& res) { predict(req, res); });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json list = json::array();
      for (const auto& m : models) list.push_back(m->describe());
      send_json(res, 200, {{"models", list}});
    });
    http.Get(R"(/v1/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const auto found = by_name.find(req.matches[1]);
      if (found == by_name.end())
        return send_error(res, 404, "model", "no model \"" + std::string(req.matches[1]) + "\"; this server has " + model_names());
      send_json(res, 200, found->second->describe());
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      json names = json::array();
      for (const auto& m : models) names.push_back(m->name());
      send_json(res, 200, {{"status", "ok"}, {"models", names}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.prometheus(), "text/plain; version=0.0.4");
    });
    // What httplib answers by itself (no route, a body over the limit, a malformed request) gets a
    // JSON body too; the handlers' own errors already have one.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413)
        return send_error(res, 413, "body", "the body is larger than the server's limit of " + std::to_string(options.max_body) +
                                                " bytes (lepton serve --max-body)");
      if (res.status == 404) return send_error(res, 404, "path", "no route " + req.method + " " + req.path + "; the routes are " + kRoutes);
      send_error(res, res.status, "", "the request could not be read as HTTP");
    });
  }
};

ModelServer::ModelServer(std::vector<std::unique_ptr<ServedModel>> models, ServeOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.options = std::move(options);
  s.models = std::move(models);
  for (const auto& m : s.models) {
    if (!s.by_name.emplace(m->name(), m.get()).second)
      throw ConfigError("--model", "two models are named \"" + m->name() + "\"; name them with --model NAME=PATH");
    const std::string name = m->name();
    s.batchers[name] = std::make_unique<Batcher>(*m, s.options.batch, [&s, name](std::int64_t rows, std::int64_t requests) {
      s.metrics.batch(name, rows, requests);
    });
  }
  const int threads = std::max(1, s.options.threads);
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  s.http.set_tcp_nodelay(true);  // answers are small: Nagle's delay would dominate the latency
  s.http.set_keep_alive_max_count(100000);
  s.http.set_payload_max_length(s.options.max_body);
  s.http.set_socket_options([&s](int socket) {
    const int on = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // as httplib's default: restart at once
    s.listening_socket = socket;
  });
  s.routes();
}

ModelServer::~ModelServer() = default;

int ModelServer::bind() {
  Impl& s = *impl_;
  int port = s.options.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.options.host);
    if (port < 0) port = 0;
  } else if (!s.http.bind_to_port(s.options.host, port)) {
    port = 0;
  }
  if (port == 0)
    throw std::runtime_error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) + ": " +
                             std::strerror(errno) + " (another server there? pick another --port)");
  // httplib listens with a backlog of 5: dozens of clients connecting at once overflow it, and the
  // kernel drops their connections. Listening again on the socket raises the backlog.
  if (s.listening_socket >= 0) ::listen(s.listening_socket, SOMAXCONN);
  return port;
}

void ModelServer::serve() { impl_->http.listen_after_bind(); }

void ModelServer::stop() { impl_->http.stop(); }

std::int64_t ModelServer::answered() const { return impl_->answered.load(); }

}  // namespace lepton::engine
