// Parsing of the execution keys: isolation, trial_timeout, trial_memory_limit, max_retries,
// heartbeat_grace and stop_grace.
#include "experiment/execution.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace lepton::engine {

namespace {

// A trial process holds LibTorch and the data before it trains anything; less than this cannot work.
constexpr std::int64_t kSmallestMemoryLimit = 64LL << 20;

}  // namespace

const char* to_string(Isolation isolation) { return isolation == Isolation::kProcess ? "process" : "thread"; }

Isolation parse_isolation(const std::string& text, const std::string& path) {
  if (text == "thread") return Isolation::kThread;
  if (text == "process") return Isolation::kProcess;
  std::string message = "expected \"thread\" (trials share the study's process) or \"process\" (each trial in a "
                        "child process that may crash alone), got \"" + text + "\"";
  if (auto near = closest_match(text, {"thread", "process"})) message += " (did you mean \"" + *near + "\"?)";
  throw ConfigError(path, message);
}

std::int64_t parse_byte_size(const json& value, const std::string& path) {
  const std::string expected = "expected a size such as \"512MiB\", \"2GB\", \"4G\" or a number of bytes";
  double bytes = 0;
  if (value.is_number()) {
    bytes = value.get<double>();
  } else if (value.is_string()) {
    const std::string text = value.get<std::string>();
    std::size_t end = 0;
    double number = 0;
    try {
      number = std::stod(text, &end);
    } catch (const std::exception&) {
      throw ConfigError(path, expected + ", got " + describe_json(value));
    }
    std::string unit;
    for (std::size_t i = end; i < text.size(); ++i)
      if (!std::isspace(static_cast<unsigned char>(text[i]))) unit += static_cast<char>(std::toupper(text[i]));
    double scale = 0;
    if (unit.empty() || unit == "B") scale = 1;
    const char* prefixes = "KMGT";
    for (int i = 0; i < 4; ++i) {
      const std::string p(1, prefixes[i]);
      if (unit == p || unit == p + "IB") scale = std::pow(1024.0, i + 1);
      if (unit == p + "B") scale = std::pow(1000.0, i + 1);
    }
    if (scale == 0) throw ConfigError(path, expected + "; unknown unit \"" + text.substr(end) + "\"");
    bytes = number * scale;
  } else {
    throw ConfigError(path, expected + ", got " + describe_json(value));
  }
  if (!std::isfinite(bytes) || bytes < static_cast<double>(kSmallestMemoryLimit) || bytes > 9.0e18)
    throw ConfigError(path, "a trial's memory limit must be at least " + format_bytes(kSmallestMemoryLimit) +
                                " (LibTorch alone takes about 200 MiB), got " + value.dump());
  return static_cast<std::int64_t>(bytes);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, bytes < 10 && unit > 0 ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
  return buffer;
}

ExecutionSection parse_execution(const ConfigObject& root) {
  ExecutionSection out;
  if (root.has("isolation"))
    out.isolation = parse_isolation(root.required<std::string>("isolation"), root.path_of("isolation"));
  constexpr double kDay = 86400;
  if (root.has("trial_timeout")) {
    out.trial_timeout = root.number_in("trial_timeout", 0, 365 * kDay, std::nullopt);
    if (out.trial_timeout <= 0)
      throw ConfigError(root.path_of("trial_timeout"), "expected seconds > 0; leave the key out for no limit");
  }
  if (root.has("trial_memory_limit"))
    out.trial_memory_limit = parse_byte_size(root.raw("trial_memory_limit"), root.path_of("trial_memory_limit"));
  out.max_retries = static_cast<int>(root.integer_in("max_retries", 0, 100, 0));
  out.heartbeat_grace = root.number_in("heartbeat_grace", 1, 7 * kDay, 120.0);
  out.stop_grace = root.number_in("stop_grace", 0, kDay, 30.0);
  return out;
}

void check_execution(const ExecutionSection& execution) {
  if (execution.trial_memory_limit > 0 && execution.isolation != Isolation::kProcess)
    throw ConfigError("trial_memory_limit", "a memory limit needs a process per trial; add \"isolation\": "
                                            "\"process\" to the experiment or pass --isolation process");
}

}  // namespace lepton::engine
