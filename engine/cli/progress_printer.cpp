// Plain progress lines, safe to call from every worker thread.
#include "cli/progress_printer.hpp"

#include "report/table.hpp"

#include <sstream>

namespace lepton::cli {

using namespace lepton::engine;

std::string study_started_text(const StudyRecord& study, int done, int target, int parallel, int torch_threads) {
  std::ostringstream s;
  s << "study " << study.name << ": " << done << " of " << target << " trials done";
  if (done < target)
    s << "; running " << target - done << " more, " << parallel << " at a time (" << torch_threads << " torch thread"
      << (torch_threads > 1 ? "s" : "") << " each)";
  return s.str();
}

std::string trial_recovered_text(const TrialRecord& t) {
  std::string text = "trial " + std::to_string(t.number) + " was left RUNNING by a process that is gone: recorded as FAIL (" +
                     t.error + ")";
  if (t.attrs.contains("retried_as")) text += "; retrying it as trial " + t.attrs["retried_as"].dump();
  return text;
}

std::string trial_outcome_text(const TrialRecord& trial, const std::vector<Objective>& objectives) {
  std::ostringstream s;
  s << "trial " << trial.number << " " << to_string(trial.state);
  if (trial.state == TrialState::kComplete)
    for (std::size_t i = 0; i < objectives.size() && i < trial.values.size(); ++i)
      s << "  " << objectives[i].metric << "=" << format_number(trial.values[i]);
  if (trial.state == TrialState::kPruned) {
    if (trial.attrs.contains("pruned_at_epoch"))
      s << " at epoch " << format_value(trial.attrs["pruned_at_epoch"]);
    else if (!trial.intermediate.empty())
      s << " at epoch " << trial.intermediate.rbegin()->first;
  }
  return s.str();
}

std::string trial_details_text(const TrialRecord& trial) {
  std::ostringstream s;
  s << format_duration(trial.duration());
  for (const auto& item : trial.params.items()) s << "  " << item.key() << "=" << format_value(item.value());
  return s.str();
}

ProgressPrinter::ProgressPrinter(std::vector<Objective> objectives, std::ostream& err)
    : err_(err), tracker_(std::move(objectives)) {}

void ProgressPrinter::study_started(const StudyRecord& study, int done, int target, int parallel, int torch_threads) {
  std::lock_guard lock(mutex_);
  tracker_.study_started(done, target);
  err_ << study_started_text(study, done, target, parallel, torch_threads) << std::endl;
}

void ProgressPrinter::trials_recovered(const std::vector<TrialRecord>& failed) {
  std::lock_guard lock(mutex_);
  for (const auto& t : failed) err_ << trial_recovered_text(t) << std::endl;
}

void ProgressPrinter::trial_started(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  tracker_.trial_started(trial);
}

void ProgressPrinter::notice(const std::string& message) {
  std::lock_guard lock(mutex_);
  err_ << message << std::endl;
}

void ProgressPrinter::trial_finished(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  tracker_.trial_finished(trial);
  const ProgressSnapshot s = tracker_.snapshot();
  std::ostringstream line;
  const int width = static_cast<int>(std::to_string(s.target).size());
  const std::string done = std::to_string(s.done);
  line << "[" << std::string(static_cast<std::size_t>(std::max<int>(0, width - static_cast<int>(done.size()))), ' ')
       << done << "/" << s.target << "] " << trial_outcome_text(trial, tracker_.objectives());
  if (s.best) line << "  best=" << format_number(*s.best) << " (#" << s.best_number << ")";
  line << "  " << trial_details_text(trial) << "  [" << format_duration(s.elapsed) << " elapsed";
  if (s.eta && s.done < s.target) line << ", ETA " << format_duration(*s.eta);
  line << "]";
  if (!trial.error.empty()) line << "\n        reason: " << trial.error;
  err_ << line.str() << std::endl;
}

}  // namespace lepton::cli
