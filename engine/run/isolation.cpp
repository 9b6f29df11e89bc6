// The trial process and its supervisor. The parent never forks itself (it has many threads): it
// starts a fresh `lepton` with posix_spawn, in a process group of its own so a terminal's Ctrl-C
// reaches only the parent, which decides what happens to its trials. Messages are JSON lines:
//   parent -> child (fd 3): the request, then {"stop": bool} after each epoch report
//   child -> parent (fd 4): {"epoch": e, "value": v} after each epoch, then {"result": {...}}
#include "run/isolation.hpp"

#include "run/study.hpp"
#include "experiment/execution.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

extern char** environ;

namespace lepton::engine {

namespace {

constexpr int kRequestFd = 3;
constexpr int kMessageFd = 4;
constexpr std::size_t kOutputTail = 4096;           // bytes of the child's output kept for failure reasons
constexpr auto kPoll = std::chrono::milliseconds(50);
constexpr auto kExitWait = std::chrono::seconds(5);  // after its pipes close, the child has this long to exit

using Clock = std::chrono::steady_clock;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A pipe whose ends close on exec and sit above the descriptors the child gets (0 to 4), so the
// spawn's dup2 actions can never overwrite one another.
struct Pipe {
  Fd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  Pipe p;
  for (int i = 0; i < 2; ++i) {
    const int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    ::close(fds[i]);
    if (high < 0) throw std::runtime_error(std::string("fcntl: ") + std::strerror(errno));
    (i == 0 ? p.read : p.write) = Fd(high);
  }
  return p;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads what is there into `buffer`; false at end of file or on error.
bool read_some(int fd, std::string& buffer) {
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

// Takes the next complete line off the front of `buffer`.
std::optional<std::string> take_line(std::string& buffer) {
  const auto end = buffer.find('\n');
  if (end == std::string::npos) return std::nullopt;
  std::string line = buffer.substr(0, end);
  buffer.erase(0, end + 1);
  return line;
}

// Blocks for the next line of `fd`; nothing at end of file.
std::optional<std::string> read_line(int fd, std::string& buffer) {
  for (;;) {
    if (auto line = take_line(buffer)) return line;
    if (!read_some(fd, buffer)) return std::nullopt;
  }
}

double number_or_nan(const json& v) { return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN(); }

json result_to_json(const TrialResult& r) {
  json metrics = json::object();
  for (const auto& [name, value] : r.metrics) metrics[name] = value;  // NaN becomes null
  return {{"state", to_string(r.state)}, {"values", r.values}, {"metrics", metrics}, {"error", r.error},
          {"attrs", r.attrs}, {"artifacts", r.artifacts}};
}

TrialResult result_from_json(const json& j) {
  TrialResult r;
  r.state = trial_state_from_string(j.at("state").get<std::string>());
  for (const auto& v : j.at("values")) r.values.push_back(number_or_nan(v));
  for (const auto& item : j.at("metrics").items()) r.metrics[item.key()] = number_or_nan(item.value());
  r.error = j.at("error").get<std::string>();
  r.attrs = j.at("attrs");
  r.artifacts = j.value("artifacts", std::map<std::string, std::string>{});
  return r;
}

TrialResult failure(std::string reason) {
  TrialResult r;
  r.state = TrialState::kFail;
  r.error = std::move(reason);
  return r;
}

std::string signal_text(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  const char* description = strsignal(signal);
  std::string out = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
  if (description) out += std::string(" (") + description + ")";
  return out;
}

// The child's resident memory, from /proc/PID/statm; 0 when it cannot be read.
std::int64_t resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  std::int64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * sysconf(_SC_PAGESIZE);
}

// The last non-empty line the child printed, for failure reasons.
std::string last_line(const std::string& output) {
  std::size_t end = output.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  const std::size_t start = output.rfind('\n', end);
  std::string line = output.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
  if (line.size() > 300) line = "..." + line.substr(line.size() - 300);
  return line;
}

void ignore_sigpipe_once() {
  // A child that dies while we write to it must give EPIPE here, not kill the whole study.
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

// Kills (when still running) and reaps the child on every path out of the supervisor.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (!reaped_) {
      kill();
      wait_blocking();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void kill() const { ::kill(pid_, SIGKILL); }
  // Reaps the child if it has exited; returns whether it has.
  bool try_wait() {
    if (reaped_) return true;
    const pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) reaped_ = true;
    return reaped_;
  }
  void wait_blocking() {
    while (!reaped_) {
      const pid_t r = waitpid(pid_, &status_, 0);
      if (r == pid_ || (r < 0 && errno != EINTR)) reaped_ = true;
    }
  }
  int status() const { return status_; }

 private:
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

pid_t spawn_child(const TrialProcessOptions& options, const TrialRecord& trial, const Pipe& request,
                  const Pipe& messages, const Pipe& output) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, output.write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, output.write.get(), 2);
  posix_spawn_file_actions_adddup2(&actions, request.read.get(), kRequestFd);
  posix_spawn_file_actions_adddup2(&actions, messages.write.get(), kMessageFd);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGXFSZ, SIGCHLD, SIGHUP}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<std::string> args{options.executable, "__trial", "--parent", std::to_string(getpid()), "--trial",
                                std::to_string(trial.number)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, options.executable.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw std::runtime_error("cannot start the trial process " + options.executable + ": " + std::strerror(rc));
  return pid;
}

json request_json(const json& spec, const TrialRecord& trial, const TrialProcessOptions& options) {
  return {{"spec", spec},
          {"plugin_folders", options.plugin_folders},
          {"torch_threads", options.torch_threads},
          {"storage", options.storage},
          {"artifact_dir", options.artifact_dir},
          {"trial",
           {{"id", trial.id},
            {"study_id", trial.study_id},
            {"number", trial.number},
            {"seed", trial.seed},
            {"params", trial.params},
            {"attrs", trial.attrs}}}};
}

}  // namespace

std::string timeout_reason(double timeout) {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "timeout: the trial ran longer than trial_timeout (%g s)", timeout);
  return buffer;
}

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's executable: " + ec.message());
  return path.string();
}

TrialProcessOptions isolation_options(const ExecutionSection& execution, const Registry& registry,
                                      const std::string& executable) {
  TrialProcessOptions out;
  out.timeout = execution.trial_timeout;
  out.memory_limit = execution.trial_memory_limit;
  if (execution.isolation != Isolation::kProcess) return out;
  out.executable = executable.empty() ? self_executable() : executable;
  for (const auto& r : registry.records()) {
    if (!r.loaded) continue;
    const std::string folder = std::filesystem::path(r.file).parent_path().string();
    if (std::find(out.plugin_folders.begin(), out.plugin_folders.end(), folder) == out.plugin_folders.end())
      out.plugin_folders.push_back(folder);
  }
  return out;
}

TrialResult run_trial_in_process(const json& spec, const TrialRecord& trial, const EpochReport& report,
                                 const TrialProcessOptions& options) {
  ignore_sigpipe_once();
  Pipe request = make_pipe(), messages = make_pipe(), output = make_pipe();
  pid_t pid;
  try {
    pid = spawn_child(options, trial, request, messages, output);
  } catch (const std::exception& e) {
    return failure(e.what());
  }
  Child child(pid);
  request.read.reset();
  messages.write.reset();
  output.write.reset();

  // A child that dies before reading this leaves EPIPE, seen below as an exit without a result.
  write_all(request.write.get(), request_json(spec, trial, options).dump() + "\n");

  const auto started = Clock::now();
  std::optional<TrialResult> result;
  std::string killed_for, pending, tail;
  auto kill_for = [&](std::string reason) {
    if (!killed_for.empty()) return;
    killed_for = std::move(reason);
    child.kill();
  };
  auto handle = [&](const std::string& line) {
    json message;
    try {
      message = json::parse(line);
      if (message.contains("epoch")) {
        const bool stop = report(message.at("epoch").get<int>(), number_or_nan(message.at("value")));
        write_all(request.write.get(), json{{"stop", stop}}.dump() + "\n");
      } else {
        result = result_from_json(message.at("result"));
      }
    } catch (const json::exception& e) {
      kill_for(std::string("the trial process sent an unreadable message: ") + e.what());
    } catch (const std::exception& e) {
      kill_for(e.what());  // `report` ended the trial (stopped, out of time), as it would a thread's
    }
  };

  bool messages_open = true, output_open = true;
  while (messages_open || output_open) {
    pollfd fds[2];
    nfds_t n = 0;
    if (messages_open) fds[n++] = {messages.read.get(), POLLIN, 0};
    if (output_open) fds[n++] = {output.read.get(), POLLIN, 0};
    const int ready = poll(fds, n, static_cast<int>(kPoll.count()));
    if (ready < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    for (nfds_t i = 0; ready > 0 && i < n; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (fds[i].fd == messages.read.get()) {
        messages_open = read_some(fds[i].fd, pending);
        while (auto line = take_line(pending)) handle(*line);
      } else {
        output_open = read_some(fds[i].fd, tail);
        if (tail.size() > 2 * kOutputTail) tail.erase(0, tail.size() - kOutputTail);
      }
    }
    if (!killed_for.empty()) continue;
    if (options.abandon && options.abandon()) {
      kill_for(kInterruptedReason);
    } else if (options.timeout > 0 &&
               std::chrono::duration<double>(Clock::now() - started).count() > options.timeout) {
      kill_for(timeout_reason(options.timeout));
    } else if (options.memory_limit > 0) {
      const std::int64_t used = resident_bytes(child.pid());
      if (used > options.memory_limit)
        kill_for("memory limit exceeded: the trial process used " + format_bytes(static_cast<double>(used)) +
                 ", over trial_memory_limit (" + format_bytes(static_cast<double>(options.memory_limit)) + ")");
    }
  }

  const auto exit_deadline = Clock::now() + kExitWait;
  while (!child.try_wait()) {
    if (Clock::now() > exit_deadline) {
      if (!result) kill_for("the trial process closed its output but did not exit");
      child.kill();
      child.wait_blocking();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  if (!killed_for.empty()) return failure(killed_for);
  if (result) return *result;  // how it exited afterwards does not matter
  const int status = child.status();
  const std::string said = last_line(tail);
  const std::string suffix = said.empty() ? "" : "; its last output: " + said;
  if (WIFSIGNALED(status))
    return failure("the trial process was killed by " + signal_text(WTERMSIG(status)) + suffix);
  return failure("the trial process exited with code " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                 " without a result" + suffix);
}

int serve_trial_process(long parent_pid) {
  // Die with the parent: a trial nobody waits for must not run on.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent_pid) return 1;
  std::string buffer;
  const auto line = read_line(kRequestFd, buffer);
  if (!line) return 1;

  TrialResult result;
  try {
    const json request = json::parse(*line);
    at::set_num_threads(request.at("torch_threads").get<int>());
    const json& spec = request.at("spec");
    Experiment experiment =
        parse_experiment(spec.at("experiment"), spec.at("data_dirs").get<std::vector<std::string>>());
    Registry registry;
    for (const auto& folder : request.at("plugin_folders")) registry.load_folder(folder.get<std::string>());
    experiment.storage = request.value("storage", "");
    PreparedExperiment prepared = prepare_experiment(std::move(experiment), registry);
    prepared.artifact_dir = request.value("artifact_dir", "");
    const json& t = request.at("trial");
    TrialRecord trial;
    trial.id = t.at("id").get<std::int64_t>();
    trial.study_id = t.at("study_id").get<std::int64_t>();
    trial.number = t.at("number").get<int>();
    trial.seed = t.at("seed").get<std::uint64_t>();
    trial.params = t.at("params");
    trial.attrs = t.at("attrs");
    const EpochReport report = [&](int epoch, double value) {
      if (!write_all(kMessageFd, json{{"epoch", epoch}, {"value", value}}.dump() + "\n")) _exit(1);
      const auto answer = read_line(kRequestFd, buffer);
      if (!answer) _exit(1);  // the parent is gone
      return json::parse(*answer).at("stop").get<bool>();
    };
    result = run_trial(prepared, registry, trial, report);
  } catch (const std::exception& e) {
    result = failure(e.what());
  }
  if (!write_all(kMessageFd, json{{"result", result_to_json(result)}}.dump() + "\n")) return 1;
  // Plugins stay loaded to the end, so static destructors could still run plugin code: skip them.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace lepton::engine
