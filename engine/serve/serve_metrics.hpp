// The server's counters in the Prometheus text format (GET /metrics): requests by model and status,
// latency histograms, and the batches the requests were joined into.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace lepton::engine {

class ServeMetrics {
 public:
  /// One answered prediction request: `model` is "" when the name matched no model.
  void request(const std::string& model, int status, double seconds);
  /// One forward pass of `rows` rows joined from `requests` requests.
  void batch(const std::string& model, std::int64_t rows, std::int64_t requests);
  /// Everything so far, in the Prometheus text exposition format (version 0.0.4).
  std::string prometheus() const;

 private:
  static constexpr std::array<double, 12> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,   0.1,   0.25,   0.5,   1,    2.5};
  struct Latency {
    std::array<std::int64_t, kBuckets.size() + 1> counts{};  // the last: above every bucket
    double sum = 0;
  };
  struct Batches {
    std::int64_t batches = 0, rows = 0, requests = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::int64_t> requests_;  // (model, status) -> count
  std::map<std::string, Latency> latency_;
  std::map<std::string, Batches> batches_;
};

}  // namespace lepton::engine
