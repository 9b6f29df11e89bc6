// `lepton doctor`: checks a study store (SQLite's integrity check) and reports trials whose worker is
// gone. It changes nothing: the next worker or `lepton resume` records those trials as FAIL.
#include "cli/commands.hpp"

#include "report/table.hpp"
#include "run/heartbeat.hpp"
#include "run/study.hpp"
#include "store/store.hpp"

#include <cmath>
#include <iostream>

namespace lepton::cli {

using namespace lepton::engine;

namespace {

double grace_of(const StudyRecord& study) {
  try {
    return experiment_of(study).execution.heartbeat_grace;
  } catch (const std::exception&) {
    return ExecutionSection{}.heartbeat_grace;  // a study this build cannot read still gets checked
  }
}

}  // namespace

int doctor_command(const QueryArgs& args) {
  auto store = open_store(args.storage, OpenMode::kInspect);
  const std::vector<std::string> problems = store->check_integrity();
  if (!problems.empty()) {  // reading on from a damaged file could only add errors
    if (args.json) {
      std::cout << json{{"storage", store->url()}, {"integrity", problems}, {"studies", json::array()}}.dump(2)
                << std::endl;
      return 1;
    }
    std::cout << "store " << store->url() << ": integrity check FAILED\n";
    for (const auto& p : problems) std::cout << "  " << p << "\n";
    std::cout << "\nThe database is damaged. Keep a copy, then try `sqlite3 FILE .recover | sqlite3 NEW.db`.\n";
    return 1;
  }
  const double now = store->clock();
  json studies = json::array();
  TextTable abandoned({"study", "trial", "worker", "last heartbeat", "diagnosis"});
  int abandoned_count = 0;
  for (const auto& study : store->list_studies()) {
    const double grace = grace_of(study);
    int running = 0, waiting = 0, total = 0;
    json stale = json::array();
    for (const auto& t : store->trials(study.id)) {
      ++total;
      waiting += t.state == TrialState::kWaiting ? 1 : 0;
      if (t.state != TrialState::kRunning) continue;
      ++running;
      const std::string reason = abandonment_reason(t, now, grace);
      if (reason.empty()) continue;
      ++abandoned_count;
      const double age = now - t.heartbeat_at;
      stale.push_back({{"number", t.number}, {"worker", t.worker}, {"heartbeat_age", age}, {"reason", reason}});
      abandoned.add_row({study.name, std::to_string(t.number), t.worker, format_duration(age) + " ago", reason});
    }
    studies.push_back({{"name", study.name},
                       {"trials", total},
                       {"running", running},
                       {"waiting", waiting},
                       {"heartbeat_grace", grace},
                       {"abandoned", stale}});
  }
  if (args.json) {
    std::cout << json{{"storage", store->url()}, {"integrity", "ok"}, {"studies", studies}}.dump(2) << std::endl;
    return 0;
  }
  std::cout << "store " << store->url() << ": integrity check ok\n";
  for (const auto& s : studies)
    std::cout << "study " << s["name"].get<std::string>() << ": " << s["trials"] << " trials, " << s["running"]
              << " running, " << s["waiting"] << " waiting to be retried\n";
  if (abandoned_count > 0) {
    std::cout << "\n" << abandoned_count << " RUNNING trial(s) whose worker is gone:\n";
    abandoned.print(std::cout);
    std::cout << "The next `lepton worker` or `lepton resume` on the study records them as FAIL (and retries them "
                 "when the experiment sets max_retries).\n";
  }
  return 0;
}

}  // namespace lepton::cli
