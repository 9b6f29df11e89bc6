// The batching thread: take what is queued, wait for requests still being read (bounded by the row
// limit and the delay), run one forward pass, hand each request its rows of the result.
#include "serve/batcher.hpp"

#include <torch/torch.h>

namespace lepton::engine {

Batcher::Batcher(const ServedModel& model, BatchLimits limits, std::function<void(std::int64_t, std::int64_t)> on_batch)
    : model_(model), limits_(limits), on_batch_(std::move(on_batch)), thread_([this] { loop(); }) {}

Batcher::~Batcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Batcher::Reading::Reading(Batcher& batcher) : batcher_(batcher) {
  std::lock_guard lock(batcher_.mutex_);
  ++batcher_.reading_;
}

Batcher::Reading::~Reading() {
  if (!open_) return;
  {
    std::lock_guard lock(batcher_.mutex_);
    --batcher_.reading_;
  }
  batcher_.changed_.notify_all();
}

at::Tensor Batcher::Reading::predict(at::Tensor samples) {
  std::future<at::Tensor> result;
  {
    std::lock_guard lock(batcher_.mutex_);
    if (open_) --batcher_.reading_;
    open_ = false;
    batcher_.queued_rows_ += samples.size(0);
    batcher_.queue_.push_back(Pending{std::move(samples), {}});
    result = batcher_.queue_.back().result.get_future();
  }
  batcher_.changed_.notify_all();
  return result.get();
}

void Batcher::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    const auto deadline = std::chrono::steady_clock::now() + limits_.max_delay;
    changed_.wait_until(lock, deadline, [&] { return stopping_ || reading_ == 0 || queued_rows_ >= limits_.max_rows; });
    std::deque<Pending> batch;
    std::int64_t rows = 0;
    while (!queue_.empty() && (batch.empty() || rows + queue_.front().samples.size(0) <= limits_.max_rows)) {
      rows += queue_.front().samples.size(0);
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_rows_ -= rows;
    lock.unlock();
    run(batch);
    lock.lock();
  }
}

void Batcher::run(std::deque<Pending>& batch) {
  try {
    std::vector<at::Tensor> parts;
    for (const auto& p : batch) parts.push_back(p.samples);
    const at::Tensor samples = parts.size() == 1 ? parts.front() : torch::cat(parts);
    const at::Tensor probabilities = model_.probabilities(samples);
    if (on_batch_) on_batch_(samples.size(0), static_cast<std::int64_t>(batch.size()));
    std::int64_t begin = 0;
    for (auto& p : batch) {
      const auto n = p.samples.size(0);
      p.result.set_value(probabilities.slice(0, begin, begin + n));
      begin += n;
    }
  } catch (...) {
    // Samples of different shapes cannot join (the plugin checks shapes, so this is a failure of
    // the model itself): every request of the batch gets the error.
    const auto error = std::current_exception();
    for (auto& p : batch) {
      try {
        p.result.set_exception(error);
      } catch (const std::future_error&) {  // already answered before the failure
      }
    }
  }
}

}  // namespace lepton::engine
