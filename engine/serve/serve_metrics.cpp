// Counting requests and batches, and writing them out as Prometheus reads them.
#include "serve/serve_metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace lepton::engine {

namespace {

// A label value with the three characters the format escapes.
std::string label(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace

void ServeMetrics::request(const std::string& model, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{model, status}];
  if (model.empty()) return;
  Latency& l = latency_[model];
  const auto bucket = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin();
  ++l.counts[static_cast<std::size_t>(bucket)];
  l.sum += seconds;
}

void ServeMetrics::batch(const std::string& model, std::int64_t rows, std::int64_t requests) {
  std::lock_guard lock(mutex_);
  Batches& b = batches_[model];
  ++b.batches;
  b.rows += rows;
  b.requests += requests;
}

std::string ServeMetrics::prometheus() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP lepton_requests_total Prediction requests answered, by model and HTTP status.\n"
         "# TYPE lepton_requests_total counter\n";
  for (const auto& [key, count] : requests_)
    out << "lepton_requests_total{model=\"" << label(key.first) << "\",code=\"" << key.second << "\"} " << count << "\n";
  out << "# HELP lepton_request_duration_seconds Time from a prediction request's arrival to its answer.\n"
         "# TYPE lepton_request_duration_seconds histogram\n";
  for (const auto& [model, l] : latency_) {
    std::int64_t cumulative = 0;
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += l.counts[b];
      out << "lepton_request_duration_seconds_bucket{model=\"" << label(model) << "\",le=\""
          << (b < kBuckets.size() ? number(kBuckets[b]) : std::string("+Inf")) << "\"} " << cumulative << "\n";
    }
    out << "lepton_request_duration_seconds_sum{model=\"" << label(model) << "\"} " << number(l.sum) << "\n";
    out << "lepton_request_duration_seconds_count{model=\"" << label(model) << "\"} " << cumulative << "\n";
  }
  out << "# HELP lepton_batches_total Forward passes run, each over requests joined by dynamic batching.\n"
         "# TYPE lepton_batches_total counter\n";
  for (const auto& [model, b] : batches_) out << "lepton_batches_total{model=\"" << label(model) << "\"} " << b.batches << "\n";
  out << "# HELP lepton_batch_rows_total Rows predicted in those passes.\n# TYPE lepton_batch_rows_total counter\n";
  for (const auto& [model, b] : batches_) out << "lepton_batch_rows_total{model=\"" << label(model) << "\"} " << b.rows << "\n";
  out << "# HELP lepton_batch_requests_total Requests joined into those passes.\n"
         "# TYPE lepton_batch_requests_total counter\n";
  for (const auto& [model, b] : batches_)
    out << "lepton_batch_requests_total{model=\"" << label(model) << "\"} " << b.requests << "\n";
  return out.str();
}

}  // namespace lepton::engine
