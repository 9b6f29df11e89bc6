// Which process runs a trial, and whether that process is still alive.
#pragma once

#include <string>

namespace lepton::engine {

/// This process as "host:pid:start", where start is the process's start time in clock ticks since
/// boot, so a recycled pid is never mistaken for the original process. LEPTON_WORKER_ID, when set,
/// names the process instead (a pod or job name, unique per process); such a worker's liveness is
/// judged by its heartbeats alone, as for a process on another host.
const std::string& this_worker();

enum class Liveness { kAlive, kDead, kUnknown };

/// Whether the process named by `worker` still runs: known only for processes of this host;
/// kUnknown for others (their heartbeats decide).
Liveness worker_liveness(const std::string& worker);

}  // namespace lepton::engine
