// The status line is drawn with a carriage return and "erase to end of line" (ESC [K), and kept
// shorter than the terminal so that it never wraps (a wrapped line cannot be redrawn in place).
#include "cli/progress_terminal.hpp"

#include "cli/progress_printer.hpp"
#include "report/table.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

namespace lepton::cli {

using namespace lepton::engine;

namespace {

constexpr const char* kEraseLine = "\r\x1b[K";

// spdlog messages go through the view, so a warning never lands in the middle of the status line.
class AboveStatusSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit AboveStatusSink(TerminalProgress& view) : view_(view) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t text;
    formatter_->format(message, text);
    std::string line(text.data(), text.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    view_.print_above(line);
  }
  void flush_() override {}

 private:
  TerminalProgress& view_;
};

std::string bar(int done, int target, int cells) {
  const int filled = target > 0 ? std::min(cells, done * cells / target) : 0;
  return "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(cells - filled), '-') + "]";
}

}  // namespace

TerminalProgress::TerminalProgress(std::vector<Objective> objectives, std::ostream& err, int width, bool tick)
    : err_(err), fixed_width_(width), tracker_(std::move(objectives)) {
  previous_logger_ = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(previous_logger_->name(), std::make_shared<AboveStatusSink>(*this));
  logger->set_level(previous_logger_->level());
  logger->set_pattern("%l: %v");
  spdlog::set_default_logger(logger);
  if (tick)
    ticker_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!stopping_) {
        wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
        if (!stopping_ && started_) redraw_locked();
      }
    });
}

TerminalProgress::~TerminalProgress() {
  stop_ticking();
  {
    std::lock_guard lock(mutex_);
    if (shown_) err_ << "\n" << std::flush;  // leave the last status on screen, e.g. after an error
    shown_ = false;
  }
  spdlog::set_default_logger(previous_logger_);
}

void TerminalProgress::stop_ticking() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

std::size_t TerminalProgress::width() const {
  if (fixed_width_ > 0) return static_cast<std::size_t>(fixed_width_);
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

std::string TerminalProgress::status_line(const ProgressSnapshot& s, const std::vector<Objective>& objectives,
                                          std::size_t width) {
  std::ostringstream counts;
  counts << s.done << "/" << s.target << " trials  " << s.running << " running  " << s.pruned << " pruned  " << s.failed
         << " failed";
  std::string best;
  if (objectives.size() > 1 && s.front_size > 0)
    best = "Pareto front " + std::to_string(s.front_size) + " trial" + (s.front_size > 1 ? "s" : "");
  else if (s.best)
    best = "best " + objectives.front().metric + "=" + format_number(*s.best) + " (#" + std::to_string(s.best_number) + ")";
  std::string time = format_duration(s.elapsed) + " elapsed";
  if (s.eta && s.done < s.target) time += ", ETA " + format_duration(*s.eta);

  const std::string text = counts.str() + (best.empty() ? "" : "  |  " + best) + "  |  " + time;
  const std::size_t room = width > 1 ? width - 1 : 0;  // the last column would wrap on some terminals
  const std::string with_bar = bar(s.done, s.target, 20) + " " + text;
  if (with_bar.size() <= room) return with_bar;
  return text.size() <= room ? text : text.substr(0, room);
}

void TerminalProgress::redraw_locked() {
  err_ << kEraseLine << status_line(tracker_.snapshot(), tracker_.objectives(), width()) << std::flush;
  shown_ = true;
}

void TerminalProgress::print_above_locked(const std::string& line) {
  err_ << (shown_ ? kEraseLine : "") << line << "\n";
  shown_ = false;
  if (started_) redraw_locked();
  err_ << std::flush;
}

void TerminalProgress::print_above(const std::string& line) {
  std::lock_guard lock(mutex_);
  print_above_locked(line);
}

void TerminalProgress::study_started(const StudyRecord& study, int done, int target, int parallel, int torch_threads) {
  std::lock_guard lock(mutex_);
  tracker_.study_started(done, target);
  started_ = true;
  print_above_locked(study_started_text(study, done, target, parallel, torch_threads));
}

void TerminalProgress::trials_recovered(const std::vector<TrialRecord>& failed) {
  std::lock_guard lock(mutex_);
  for (const auto& t : failed) print_above_locked(trial_recovered_text(t));
}

void TerminalProgress::trial_started(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  tracker_.trial_started(trial);
  redraw_locked();
}

void TerminalProgress::trial_finished(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  const bool improved = tracker_.trial_finished(trial);
  if (improved) {
    const char* label = tracker_.objectives().size() > 1 ? "  joins the Pareto front  " : "  new best  ";
    print_above_locked(trial_outcome_text(trial, tracker_.objectives()) + label + trial_details_text(trial));
  } else if (trial.state == TrialState::kFail) {
    print_above_locked(trial_outcome_text(trial, tracker_.objectives()) + "  " + trial_details_text(trial) +
                       "\n        reason: " + trial.error);
  } else {
    redraw_locked();
  }
}

void TerminalProgress::study_finished(const StudyRecord& study, const std::vector<TrialRecord>& trials,
                                      const std::string& storage) {
  stop_ticking();
  std::lock_guard lock(mutex_);
  if (!started_) return;
  // The final status stays on screen as the run's summary.
  redraw_locked();
  err_ << "\n" << std::flush;
  shown_ = false;
}

}  // namespace lepton::cli
