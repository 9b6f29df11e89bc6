// Async-signal-safe stop requests: the handler only stores a number or calls _exit.
#include "cli/signals.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>

namespace lepton::cli {

namespace {

std::atomic<int> g_signal{0};
std::atomic<int> g_count{0};
static_assert(std::atomic<int>::is_always_lock_free, "signal handlers need lock-free atomics");

extern "C" void on_stop_signal(int signal) {
  if (g_count.fetch_add(1) >= 1) _exit(kStoppedExitCode);  // the second signal: stop at once
  g_signal.store(signal);
}

void set_handler(void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

void install_stop_handlers() {
  g_signal = 0;
  g_count = 0;
  set_handler(on_stop_signal);
}

void remove_stop_handlers() {
  set_handler(SIG_DFL);
  g_signal = 0;
  g_count = 0;
}

bool stop_requested() { return g_signal.load() != 0; }

const char* stop_signal_name() {
  switch (g_signal.load()) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "";
  }
}

}  // namespace lepton::cli
