// Dynamic batching: requests for one model that arrive together run through its network as one
// batch, on one thread per model. A lone request runs at once; while other requests for the model
// are still being read, the batch waits for them, up to a row limit and a delay.
#pragma once

#include "serve/served_model.hpp"

#include <ATen/core/Tensor.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace lepton::engine {

struct BatchLimits {
  std::int64_t max_rows = 64;                         ///< rows per batch (a larger request runs alone)
  std::chrono::microseconds max_delay{2000};          ///< the longest a batch waits for requests being read
};

class Batcher {
 public:
  /// `on_batch(rows, requests)` is told about every batch run, for the metrics.
  Batcher(const ServedModel& model, BatchLimits limits, std::function<void(std::int64_t, std::int64_t)> on_batch);
  /// Runs what is queued, then stops the thread.
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  /// Marks a request being read for this model, so that a forming batch waits for it; the mark
  /// ends when the request is submitted or when the Reading object goes away.
  class Reading {
   public:
    explicit Reading(Batcher& batcher);
    ~Reading();
    Reading(const Reading&) = delete;
    Reading& operator=(const Reading&) = delete;
    /// The class probabilities of `samples` {n, ...}: {n, classes}, computed in a batch.
    at::Tensor predict(at::Tensor samples);

   private:
    Batcher& batcher_;
    bool open_ = true;
  };

 private:
  struct Pending {
    at::Tensor samples;
    std::promise<at::Tensor> result;
  };
  void loop();
  void run(std::deque<Pending>& batch);

  const ServedModel& model_;
  BatchLimits limits_;
  std::function<void(std::int64_t, std::int64_t)> on_batch_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  std::int64_t queued_rows_ = 0;
  int reading_ = 0;  // requests being read, not yet queued
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lepton::engine
