// How a command that runs trials (run, resume, worker) shows progress: an updating status line
// on a terminal, plain lines when stderr is a file or pipe, one JSON object per event on stdout
// (--json), or nothing (--quiet). make_progress_view() picks one; all are thread-safe.
#pragma once

#include "run/study.hpp"

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace lepton::cli {

enum class ProgressMode { kAuto, kLines, kTerminal, kJson, kQuiet };

/// A ProgressSink the CLI shows, told when the run is over.
class ProgressView : public engine::ProgressSink {
 public:
  /// The run returned; `trials` is the whole study as stored now.
  virtual void study_finished(const engine::StudyRecord& study, const std::vector<engine::TrialRecord>& trials,
                              const std::string& storage) {}
};

/// --json wins over --quiet; otherwise kAuto: a status line when stderr is a terminal (and TERM is
/// not "dumb"), else plain lines.
ProgressMode progress_mode(bool quiet, bool json);

/// The view for `mode`: status and lines go to `err`, JSON events to `out`.
std::unique_ptr<ProgressView> make_progress_view(ProgressMode mode, std::vector<engine::Objective> objectives,
                                                 std::ostream& err, std::ostream& out);

}  // namespace lepton::cli
