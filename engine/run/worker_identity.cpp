// Worker identity from the host name, the pid and the kernel's process start time.
#include "run/worker_identity.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <vector>

namespace lepton::engine {

namespace {

std::string host_name() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "unknown-host";
  return buffer;
}

struct ProcessStat {
  std::string state;  // field 3: R, S, D, Z (zombie), X (dead), ...
  std::string start;  // field 22: start time in clock ticks since boot
};

// Reads /proc/PID/stat; the command name (field 2) may hold spaces, so fields are counted after its ')'.
ProcessStat process_stat(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ProcessStat out;
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 > stat.size()) return out;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3) out.state = field;
    if (i == 22) out.start = field;
  }
  return out;
}

}  // namespace

const std::string& this_worker() {
  static const std::string id = [] {
    const char* name = std::getenv("LEPTON_WORKER_ID");
    if (name && *name) return std::string(name);
    return host_name() + ":" + std::to_string(getpid()) + ":" + process_stat(getpid()).start;
  }();
  return id;
}

Liveness worker_liveness(const std::string& worker) {
  // host:pid:start, where the host name itself contains no ':'.
  const auto first = worker.find(':');
  const auto last = worker.rfind(':');
  if (first == std::string::npos || first == last) return Liveness::kUnknown;
  if (worker.substr(0, first) != host_name()) return Liveness::kUnknown;
  long pid = 0;
  try {
    pid = std::stol(worker.substr(first + 1, last - first - 1));
  } catch (...) {
    return Liveness::kUnknown;
  }
  if (pid <= 0) return Liveness::kUnknown;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return Liveness::kDead;
  const ProcessStat stat = process_stat(pid);
  if (stat.state == "Z" || stat.state == "X") return Liveness::kDead;  // exited, not yet reaped
  return stat.start == worker.substr(last + 1) ? Liveness::kAlive : Liveness::kDead;
}

}  // namespace lepton::engine
