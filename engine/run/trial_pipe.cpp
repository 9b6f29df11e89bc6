// The trial process wire's descriptors, line reads and result codec.
#include "run/trial_pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace lepton::engine {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

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

std::optional<std::string> take_line(std::string& buffer) {
  const auto end = buffer.find('\n');
  if (end == std::string::npos) return std::nullopt;
  std::string line = buffer.substr(0, end);
  buffer.erase(0, end + 1);
  return line;
}

std::optional<std::string> read_line(int fd, std::string& buffer) {
  for (;;) {
    if (auto line = take_line(buffer)) return line;
    if (!read_some(fd, buffer)) return std::nullopt;
  }
}

namespace {
double number_or_nan(const json& v) { return v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN(); }
}  // namespace

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

}  // namespace lepton::engine
