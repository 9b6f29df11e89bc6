// Reading stores and files back in tests.
#include "support/study_files.hpp"

#include "support/process.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <thread>

namespace lepton::test {

json quick_experiment(const std::string& name, int trials) {
  json experiment = small_experiment(name, trials, 1);
  experiment["task"]["batch_size"] = 512;
  experiment["search"]["space"]["hidden"] = {{"type", "int"}, {"low", 4}, {"high", 16}};
  return experiment;
}

std::vector<engine::TrialRecord> trials_of(const std::string& url, const std::string& study) {
  try {
    auto store = engine::open_store(url, engine::OpenMode::kExisting);
    const auto s = store->find_study(study);
    return s ? store->trials(s->id) : std::vector<engine::TrialRecord>{};
  } catch (const std::exception&) {
    return {};  // not created yet
  }
}

int count_state(const std::string& url, const std::string& study, TrialState state) {
  int n = 0;
  for (const auto& t : trials_of(url, study)) n += t.state == state ? 1 : 0;
  return n;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

std::string sqlite_integrity(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string why = db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return why;
  }
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW)
      result += std::string(result.empty() ? "" : "; ") + reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else {
    result = sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

std::string file_digest(const std::string& path) {
  if (!std::filesystem::exists(path)) return "";
  const std::string bytes = read_file(path);
  return std::to_string(bytes.size()) + ":" + std::to_string(std::hash<std::string>{}(bytes));
}

}  // namespace lepton::test
