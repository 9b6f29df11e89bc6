// Chooses the progress view.
#include "cli/progress.hpp"

#include "cli/progress_json.hpp"
#include "cli/progress_printer.hpp"
#include "cli/progress_terminal.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace lepton::cli {

ProgressMode progress_mode(bool quiet, bool json) {
  if (json) return ProgressMode::kJson;
  if (quiet) return ProgressMode::kQuiet;
  const char* term = std::getenv("TERM");
  const bool dumb = term && std::strcmp(term, "dumb") == 0;
  return isatty(STDERR_FILENO) && !dumb ? ProgressMode::kTerminal : ProgressMode::kLines;
}

std::unique_ptr<ProgressView> make_progress_view(ProgressMode mode, std::vector<engine::Objective> objectives,
                                                 std::ostream& err, std::ostream& out) {
  switch (mode) {
    case ProgressMode::kAuto: return make_progress_view(progress_mode(false, false), std::move(objectives), err, out);
    case ProgressMode::kTerminal: return std::make_unique<TerminalProgress>(std::move(objectives), err);
    case ProgressMode::kJson: return std::make_unique<JsonProgress>(std::move(objectives), out);
    case ProgressMode::kQuiet: return std::make_unique<ProgressView>();
    case ProgressMode::kLines: break;
  }
  return std::make_unique<ProgressPrinter>(std::move(objectives), err);
}

}  // namespace lepton::cli
