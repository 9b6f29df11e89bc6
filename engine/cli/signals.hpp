// Ctrl-C and SIGTERM as a request to stop the study gracefully; a second one ends the process at once.
#pragma once

namespace lepton::cli {

/// The exit code of a study stopped by a signal (the shell's 128 + SIGINT, also used for SIGTERM).
inline constexpr int kStoppedExitCode = 130;

/// Installs handlers for SIGINT and SIGTERM. The first signal only sets stop_requested(); the study
/// stops scheduling and winds down. A second one ends the process at once with kStoppedExitCode;
/// trials it leaves RUNNING are failed as interrupted by the next run on the study.
void install_stop_handlers();

/// Restores the default SIGINT and SIGTERM handling and forgets any request.
void remove_stop_handlers();

/// True once SIGINT or SIGTERM arrived after install_stop_handlers().
bool stop_requested();

/// The signal that asked to stop ("SIGINT", "SIGTERM"), or "" when none did.
const char* stop_signal_name();

}  // namespace lepton::cli
