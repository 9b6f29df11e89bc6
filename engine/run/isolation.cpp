// The supervisor of trial processes. The parent never forks itself (it has many threads): it
// starts a fresh `lepton __trial` with posix_spawn, in a process group of its own so a terminal's
// Ctrl-C reaches only the parent, which decides what happens to its trials. A trial process
// prepares the study once and then runs trial after trial (run/trial_child.cpp); it is replaced
// only when a trial crashed, hung, outgrew its memory or was abandoned.
#include "run/isolation.hpp"

#include "run/trial_pipe.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

extern char** environ;

namespace lepton::engine {

namespace {

constexpr std::size_t kOutputTail = 4096;           // bytes of the child's output kept for failure reasons
constexpr auto kPoll = std::chrono::milliseconds(50);
constexpr auto kExitWait = std::chrono::seconds(5);  // after its pipes close, the child has this long to exit

using Clock = std::chrono::steady_clock;

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

pid_t spawn_child(const TrialProcessOptions& options, const Pipe& request, const Pipe& messages, const Pipe& output) {
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

  std::vector<std::string> args{options.executable, "__trial", "--parent", std::to_string(getpid())};
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

json trial_json(const TrialRecord& trial) {
  return {{"id", trial.id}, {"study_id", trial.study_id}, {"number", trial.number},
          {"seed", trial.seed}, {"params", trial.params}, {"attrs", trial.attrs}};
}

}  // namespace

// One `lepton __trial` child and the parent's ends of its pipes.
class TrialProcess {
 public:
  TrialProcess(const json& spec, const TrialProcessOptions& options)
      : request_(make_pipe()), messages_(make_pipe()), output_(make_pipe()) {
    child_.emplace(spawn_child(options, request_, messages_, output_));
    request_.read.reset();
    messages_.write.reset();
    output_.write.reset();
    // A child that dies before reading this leaves EPIPE, seen later as an exit without a result.
    write_all(request_.write.get(), json{{"prepare",
                                          {{"spec", spec},
                                           {"plugin_folders", options.plugin_folders},
                                           {"torch_threads", options.torch_threads},
                                           {"storage", options.storage},
                                           {"artifact_dir", options.artifact_dir}}}}
                                            .dump() +
                                        "\n");
  }

  // Asks an idle child to exit (it sees the request pipe close), killing it if it does not.
  ~TrialProcess() {
    request_.write.reset();
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    while (!child_->try_wait() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

  /// Whether the child has exited (it was killed, or died between trials).
  bool exited() { return child_->try_wait(); }
  /// False once a trial killed the child or saw it die: the process must not be given another trial.
  bool reusable() const { return reusable_; }

  TrialResult run(const TrialRecord& trial, const EpochReport& report, const TrialProcessOptions& options) {
    std::string tail;
    std::optional<TrialResult> result;
    std::string killed_for;
    auto kill_for = [&](std::string reason) {
      if (!killed_for.empty()) return;
      killed_for = std::move(reason);
      child_->kill();
    };
    auto handle = [&](const std::string& line) {
      try {
        const json message = json::parse(line);
        if (message.contains("epoch")) {
          const json& value = message.at("value");
          const bool stop = report(message.at("epoch").get<int>(),
                                   value.is_number() ? value.get<double>() : std::numeric_limits<double>::quiet_NaN());
          write_all(request_.write.get(), json{{"stop", stop}}.dump() + "\n");
        } else {
          result = result_from_json(message.at("result"));
        }
      } catch (const json::exception& e) {
        kill_for(std::string("the trial process sent an unreadable message: ") + e.what());
      } catch (const std::exception& e) {
        kill_for(e.what());  // `report` ended the trial (stopped, out of time), as it would a thread's
      }
    };

    write_all(request_.write.get(), json{{"trial", trial_json(trial)}}.dump() + "\n");
    const auto started = Clock::now();
    bool messages_open = true, output_open = true;
    while (!result && messages_open) {
      pollfd fds[2];
      nfds_t n = 0;
      fds[n++] = {messages_.read.get(), POLLIN, 0};
      if (output_open) fds[n++] = {output_.read.get(), POLLIN, 0};
      const int ready = poll(fds, n, static_cast<int>(kPoll.count()));
      if (ready < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      for (nfds_t i = 0; ready > 0 && i < n; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (fds[i].fd == messages_.read.get()) {
          messages_open = read_some(fds[i].fd, pending_);
          while (auto line = take_line(pending_)) handle(*line);
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
        const std::int64_t used = resident_bytes(child_->pid());
        if (used > options.memory_limit)
          kill_for("memory limit exceeded: the trial process used " + format_bytes(static_cast<double>(used)) +
                   ", over trial_memory_limit (" + format_bytes(static_cast<double>(options.memory_limit)) + ")");
      }
    }
    if (!killed_for.empty()) {
      reusable_ = false;
      child_->wait_blocking();
      return failure(killed_for);
    }
    if (result) return *result;
    // The child closed its messages without a result: it died, or is about to exit.
    reusable_ = false;
    const auto exit_deadline = Clock::now() + kExitWait;
    while (!child_->try_wait()) {
      if (Clock::now() > exit_deadline) {
        child_->kill();
        child_->wait_blocking();
        return failure("the trial process closed its output but did not exit");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    while (output_open) output_open = read_some(output_.read.get(), tail);
    const int status = child_->status();
    const std::string said = last_line(tail);
    const std::string suffix = said.empty() ? "" : "; its last output: " + said;
    if (WIFSIGNALED(status))
      return failure("the trial process was killed by " + signal_text(WTERMSIG(status)) + suffix);
    return failure("the trial process exited with code " +
                   std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + " without a result" + suffix);
  }

 private:
  Pipe request_, messages_, output_;
  std::optional<Child> child_;
  std::string pending_;
  bool reusable_ = true;
};

TrialProcessPool::TrialProcessPool(json spec, TrialProcessOptions options)
    : spec_(std::move(spec)), options_(std::move(options)) {
  ignore_sigpipe_once();
}

TrialProcessPool::~TrialProcessPool() = default;

TrialResult TrialProcessPool::run(const TrialRecord& trial, const EpochReport& report) {
  // Each thread keeps its own process: PR_SET_PDEATHSIG ties a child to the thread that started it.
  std::unique_ptr<TrialProcess> process;
  {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(std::this_thread::get_id());
    if (it != idle_.end()) {
      process = std::move(it->second);
      idle_.erase(it);
    }
  }
  if (process && process->exited()) process.reset();
  if (!process) {
    try {
      process = std::make_unique<TrialProcess>(spec_, options_);
      ++started_;
    } catch (const std::exception& e) {
      return failure(e.what());
    }
  }
  TrialResult result = process->run(trial, report, options_);
  if (process->reusable()) {
    std::lock_guard lock(mutex_);
    idle_[std::this_thread::get_id()] = std::move(process);
  }
  return result;
}

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
  TrialProcessPool pool(spec, options);
  return pool.run(trial, report);
}

}  // namespace lepton::engine
