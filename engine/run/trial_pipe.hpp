// The wire between a trial process and its supervisor: descriptors, pipes and JSON lines.
//   parent -> child (fd 3): {"prepare": {...}} once, then per trial {"trial": {...}} and, after
//                           each epoch report, {"stop": bool}
//   child -> parent (fd 4): per trial {"epoch": e, "value": v} after each epoch, then {"result": {...}}
#pragma once

#include "store/store.hpp"

#include <optional>
#include <string>
#include <utility>

namespace lepton::engine {

inline constexpr int kRequestFd = 3;
inline constexpr int kMessageFd = 4;

/// Owns a file descriptor.
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
  void reset();

 private:
  int fd_ = -1;
};

/// A pipe whose ends close on exec and sit above the descriptors the child gets (0 to 4), so the
/// spawn's dup2 actions can never overwrite one another.
struct Pipe {
  Fd read, write;
};
Pipe make_pipe();

/// Writes all of `data`; false when the other end is gone.
bool write_all(int fd, const std::string& data);
/// Reads what is there into `buffer`; false at end of file or on error.
bool read_some(int fd, std::string& buffer);
/// Takes the next complete line off the front of `buffer`.
std::optional<std::string> take_line(std::string& buffer);
/// Blocks for the next line of `fd`; nothing at end of file.
std::optional<std::string> read_line(int fd, std::string& buffer);

json result_to_json(const TrialResult& result);
TrialResult result_from_json(const json& j);
/// A FAIL result with `reason`.
TrialResult failure(std::string reason);

}  // namespace lepton::engine
