// posix_spawn-based process helpers: no fork of the (threaded) test process.
#include "support/process.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

extern char** environ;

namespace lepton::test {

namespace {

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    if (!extra.count(name)) env.push_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(std::vector<std::string> args, const std::map<std::string, std::string>& env, const std::string& cwd,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Run through env(1) with --chdir when a working directory is wanted (portable before glibc 2.29's addchdir).
  if (!cwd.empty()) {
    args.insert(args.begin(), {"/usr/bin/env", "--chdir=" + cwd});
  }
  auto env_strings = environment_with(env);
  auto argv = pointers(args);
  auto envp = pointers(env_strings);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + args[0] + ": " + std::strerror(rc));
  return pid;
}

int decode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

std::string temp_path(const std::string& suffix) {
  static int counter = 0;
  return "/tmp/lepton-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + suffix;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ProcessResult run_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                          const std::string& cwd) {
  const std::string out_path = temp_path(".out"), err_path = temp_path(".err");
  const pid_t pid = spawn(args, env, cwd, out_path, err_path);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ProcessResult r{decode(status), read_file(out_path), read_file(err_path)};
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return r;
}

ProcessResult run_lepton(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                         const std::string& cwd) {
  std::vector<std::string> full{LEPTON_BIN};
  full.insert(full.end(), args.begin(), args.end());
  return run_process(full, env, cwd);
}

ProcessResult run_lepton_ok(const std::vector<std::string>& args) {
  const auto r = run_lepton(args);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return r;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& args, const std::string& log_prefix,
                                     const std::map<std::string, std::string>& env, const std::string& cwd)
    : out_path_(log_prefix + ".out"), err_path_(log_prefix + ".err") {
  pid_ = spawn(args, env, cwd, out_path_, err_path_);
}

BackgroundProcess::~BackgroundProcess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void BackgroundProcess::kill(int signal) { ::kill(pid_, signal); }

int BackgroundProcess::wait() {
  if (!reaped_) {
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return decode(status_);
}

std::string BackgroundProcess::out() const { return read_file(out_path_); }
std::string BackgroundProcess::err() const { return read_file(err_path_); }

}  // namespace lepton::test
