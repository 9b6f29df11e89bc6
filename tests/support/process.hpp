// Running the real `lepton` binary from tests: capture its output and exit code, or start it in the
// background to kill it.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace lepton::test {

struct ProcessResult {
  int exit_code = -1;  ///< exit status, or 128 + signal
  std::string out, err;
};

/// Runs `args` (args[0] is the program), with `env` added to the environment, in `cwd` (empty: the
/// current one). Waits for it and returns its exit code and output.
ProcessResult run_process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                          const std::string& cwd = "");

/// Runs the lepton binary with `args`.
ProcessResult run_lepton(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                         const std::string& cwd = "");

/// Runs the lepton binary with `args` and REQUIREs exit code 0, showing its output when not.
ProcessResult run_lepton_ok(const std::vector<std::string>& args);

/// A process started in the background; its stdout and stderr go to files.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& args, const std::string& log_prefix,
                    const std::map<std::string, std::string>& env = {}, const std::string& cwd = "");
  ~BackgroundProcess();
  pid_t pid() const { return pid_; }
  /// Sends a signal.
  void kill(int signal);
  /// Waits for the exit and returns its code (128 + signal when killed).
  int wait();
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string out_path_, err_path_;
};

/// The whole content of a file.
std::string read_file(const std::string& path);

}  // namespace lepton::test
