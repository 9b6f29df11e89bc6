// `lepton serve`: models behind an HTTP server (cpp-httplib), with dynamic batching and Prometheus
// metrics. Routes:
//   POST /v1/models/NAME/predict   rows, records, a data file or images -> classes and probabilities
//   GET  /v1/models, /v1/models/NAME, /health, /metrics
#pragma once

#include "serve/batcher.hpp"
#include "serve/served_model.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lepton::engine {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                              ///< 0: any free port
  int threads = 32;                             ///< connections served at once
  BatchLimits batch;
  std::size_t max_body = 64u * 1024 * 1024;     ///< larger bodies get 413
};

class ModelServer {
 public:
  ModelServer(std::vector<std::unique_ptr<ServedModel>> models, ServeOptions options);
  ~ModelServer();
  ModelServer(const ModelServer&) = delete;
  ModelServer& operator=(const ModelServer&) = delete;

  /// Binds to the host and port; returns the port (the one chosen when the options say 0). Throws
  /// std::runtime_error when it cannot.
  int bind();
  /// Answers requests until stop(); requests in flight then finish before it returns.
  void serve();
  /// Stops accepting connections (safe from any thread, e.g. a signal watcher).
  void stop();
  /// Prediction requests answered so far.
  std::int64_t answered() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lepton::engine
