// How trials run, as opposed to what they compute: isolation, limits, retries, heartbeats, stopping.
#pragma once

#include <lepton/config.hpp>

#include <cstdint>
#include <string>

namespace lepton::engine {

/// Where a trial runs: a thread of the study's process, or a child process of its own that a crash,
/// a hang or a leak can take down without touching the study.
enum class Isolation { kThread, kProcess };

const char* to_string(Isolation isolation);
/// "thread" or "process"; throws ConfigError at `path` otherwise.
Isolation parse_isolation(const std::string& text, const std::string& path);

/// The experiment's top-level execution keys. None of them changes a trial's result, so a study
/// may be resumed with other values.
struct ExecutionSection {
  Isolation isolation = Isolation::kThread;
  double trial_timeout = 0;             ///< seconds a trial may run; 0: no limit
  std::int64_t trial_memory_limit = 0;  ///< bytes of resident memory a trial process may use; 0: no limit
  int max_retries = 0;                  ///< re-runs of a trial whose worker died or went stale
  double heartbeat_grace = 120;         ///< seconds without a heartbeat before a RUNNING trial is stale
  double stop_grace = 30;               ///< seconds running trials get to end after Ctrl-C or SIGTERM
};

/// Reads the execution keys of the experiment's root object (marking them known).
ExecutionSection parse_execution(const ConfigObject& root);

/// Checks the keys against each other once command-line overrides are applied; throws ConfigError.
void check_execution(const ExecutionSection& execution);

/// Parses a size such as 2147483648, "512MiB", "2GB" or "4G" (K, M, G and T are powers of 1024 with or
/// without "iB"; KB, MB, GB and TB powers of 1000). Throws ConfigError at `path`.
std::int64_t parse_byte_size(const json& value, const std::string& path);

/// "512 MiB", "1.5 GiB".
std::string format_bytes(double bytes);

}  // namespace lepton::engine
