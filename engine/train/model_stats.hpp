// Cost metrics of a trained network, for multi-objective studies: size and measured latency.
#pragma once

#include <lepton/model.hpp>

#include <cstdint>

namespace lepton::engine {

/// Every parameter of the network (frozen ones included): the `parameter_count` metric.
std::int64_t parameter_count(Network& net);

/// The median wall time of one forward pass of a single sample (`sample` {1, input...}), in
/// milliseconds, in eval mode without gradients, on this thread's torch threads: the
/// `latency_ms` metric. A few passes warm up first; the median resists a noisy neighbour.
double latency_ms(Network& net, const at::Tensor& sample);

}  // namespace lepton::engine
