// Store safety: a file that is not a database, a damaged one, another application's, a newer schema,
// a missing or read-only folder and a full disk each give a clear error and leave the file as it
// was; `lepton doctor` checks a store and reports trials whose worker is gone.
#include "store/sqlite_store.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using lepton::json;
using lepton::TrialState;
using lepton::test::ProcessResult;
using lepton::test::run_lepton;

namespace {

void sql(const std::string& file, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// A store holding one finished study, fully checkpointed into the file.
std::string make_store(const lepton::test::TempDir& dir, int trials = 2) {
  const auto r = run_lepton({"run", dir.write_json("e.json", lepton::test::small_experiment("safe", trials, 1)),
                             "--storage", dir.sqlite_url(), "-q"});
  REQUIRE(r.exit_code == 0);
  REQUIRE_FALSE(std::filesystem::exists(dir.file("study.db-wal")));
  return dir.file("study.db");
}

// Runs lepton with `folder` read-only. Root ignores permissions, so as root the folder is bound
// read-only in a private mount namespace (unshare, from util-linux: scripts/setup installs it);
// otherwise its mode drops the write bits.
ProcessResult run_with_read_only_folder(const std::string& folder, const std::vector<std::string>& args) {
  if (geteuid() != 0) {
    chmod(folder.c_str(), 0555);
    const auto r = run_lepton(args);
    chmod(folder.c_str(), 0755);
    return r;
  }
  INFO("as root this test needs /usr/bin/unshare (apt-get install util-linux)");
  REQUIRE(std::filesystem::exists("/usr/bin/unshare"));
  std::vector<std::string> full{"/usr/bin/unshare", "-m", "/bin/sh", "-c",
                                "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"", folder, LEPTON_BIN};
  full.insert(full.end(), args.begin(), args.end());
  return lepton::test::run_process(full);
}

}  // namespace

TEST_CASE("a file that is not a database is refused and left as it was", "[store-safety][slow]") {
  lepton::test::TempDir dir;
  const auto file = dir.write("study.db", "these are someone's notes, not a database\n");
  const auto before = lepton::test::file_digest(file);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", dir.write_json("e.json", lepton::test::small_experiment("x", 1, 1)), "--storage",
                                 dir.sqlite_url()},
        {"trials", "--storage", dir.sqlite_url(), "--study", "x"},
        {"doctor", "--storage", dir.sqlite_url()}}) {
    const auto r = run_lepton(args);
    INFO(args[0] << ": " << r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("not an SQLite database (or is corrupt); nothing was changed"));
    CHECK(lepton::test::file_digest(file) == before);
  }
}

TEST_CASE("a damaged database is refused before anything is written and doctor names the damage",
          "[store-safety][slow]") {
  lepton::test::TempDir dir;
  const auto file = make_store(dir, 4);
  // Scribble over the first page of the trials table, as a failing disk would.
  int page = 0;
  {
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = 'trials'", -1, &stmt, nullptr);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    page = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
  }
  {
    std::fstream out(file, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(static_cast<std::streamoff>(page - 1) * 4096 + 8);
    const std::string junk(200, '\xA5');
    out.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  const auto before = lepton::test::file_digest(file);
  const auto run = run_lepton({"resume", "--storage", dir.sqlite_url(), "--study", "safe", "--trials", "9"});
  INFO(run.err);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.err, Catch::Contains("the database is damaged") && Catch::Contains("nothing was changed"));
  const auto doctor = run_lepton({"doctor", "--storage", dir.sqlite_url()});
  CHECK(doctor.exit_code == 1);
  CHECK_THAT(doctor.out, Catch::Contains("integrity check FAILED") && Catch::Contains(".recover"));
  CHECK(lepton::test::file_digest(file) == before);
}

TEST_CASE("a newer schema or another application's database is refused untouched", "[store-safety][slow]") {
  lepton::test::TempDir dir;
  const auto file = make_store(dir);
  sql(file, "PRAGMA user_version = 99");
  const auto before = lepton::test::file_digest(file);
  const auto newer = run_lepton({"resume", "--storage", dir.sqlite_url(), "--study", "safe"});
  CHECK(newer.exit_code == 1);
  CHECK_THAT(newer.err, Catch::Contains("written by a newer Lepton (store schema 99, this build reads up to " + std::to_string(lepton::engine::kSqliteSchemaVersion) + ")"));
  CHECK(lepton::test::file_digest(file) == before);

  const auto foreign = dir.file("foreign.db");
  sql(foreign, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)");
  const auto foreign_before = lepton::test::file_digest(foreign);
  const auto r = run_lepton({"run", dir.file("e.json"), "--storage", dir.sqlite_url("foreign.db")});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("an SQLite database of another application, not a Lepton store"));
  CHECK(lepton::test::file_digest(foreign) == foreign_before);
}

TEST_CASE("a missing or read-only folder gives a clear error", "[store-safety][slow]") {
  lepton::test::TempDir dir;
  const auto experiment = dir.write_json("e.json", lepton::test::small_experiment("safe", 2, 1));
  const auto missing = run_lepton({"run", experiment, "--storage", "sqlite:///" + dir.file("no/such/folder/s.db")});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("folder " + dir.file("no/such/folder") + " does not exist; create it first"));
  CHECK_FALSE(std::filesystem::exists(dir.file("no")));

  const std::string folder = dir.file("locked");
  std::filesystem::create_directory(folder);
  const auto fresh = run_with_read_only_folder(folder, {"run", experiment, "--storage", "sqlite:///" + folder + "/s.db"});
  // Without a read-only folder nothing below is tested: fail rather than pass vacuously.
  if (fresh.err.find("unshare failed") != std::string::npos)
    FAIL("cannot make a read-only folder here (root without mount namespaces): " << fresh.err);
  INFO(fresh.err);
  CHECK(fresh.exit_code == 1);
  CHECK_THAT(fresh.err, Catch::Contains("folder " + folder + " is not writable"));
  CHECK(std::filesystem::is_empty(folder));

  // An existing store in a folder that became read-only.
  REQUIRE(run_lepton({"run", experiment, "--storage", "sqlite:///" + folder + "/s.db", "-q"}).exit_code == 0);
  const auto before = lepton::test::file_digest(folder + "/s.db");
  const auto existing = run_with_read_only_folder(
      folder, {"resume", "--storage", "sqlite:///" + folder + "/s.db", "--study", "safe", "--trials", "5"});
  INFO(existing.err);
  CHECK(existing.exit_code == 1);
  CHECK_THAT(existing.err, Catch::Contains("read-only") || Catch::Contains("check the permissions"));
  CHECK(lepton::test::file_digest(folder + "/s.db") == before);
}

TEST_CASE("a full disk stops the run with a clear error, the store stays sound and resume finishes",
          "[store-safety][e2e][slow]") {
  lepton::test::TempDir dir;
  const auto experiment = dir.write_json("e.json", lepton::test::quick_experiment("full", 60));
  // RLIMIT_FSIZE makes every write past 256 KiB fail, as a full disk does (EFBIG instead of ENOSPC).
  const auto full = lepton::test::run_process(
      {"/usr/bin/prlimit", "--fsize=262144", "--", LEPTON_BIN, "run", experiment, "--storage", dir.sqlite_url(), "-q"});
  INFO(full.err);
  CHECK(full.exit_code == 1);
  CHECK_THAT(full.err, Catch::Contains("cannot write: a file-size limit (ulimit -f) of 262144 bytes was reached") ||
                           Catch::Contains("cannot write: File too large"));
  CHECK_THAT(full.err, Catch::Contains("the file is intact"));

  CHECK(lepton::test::sqlite_integrity(dir.file("study.db")) == "ok");
  const auto kept = lepton::test::trials_of(dir.sqlite_url(), "full");
  int complete = 0;
  for (const auto& t : kept) complete += t.state == TrialState::kComplete ? 1 : 0;
  CHECK(complete > 0);
  CHECK(complete < 60);

  const auto resumed = run_lepton({"resume", "--storage", dir.sqlite_url(), "--study", "full", "-q"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(lepton::test::count_state(dir.sqlite_url(), "full", TrialState::kComplete) == 60);
  for (const auto& t : lepton::test::trials_of(dir.sqlite_url(), "full"))
    if (t.number < static_cast<int>(kept.size()) && kept[static_cast<std::size_t>(t.number)].state == TrialState::kComplete)
      CHECK(t.values == kept[static_cast<std::size_t>(t.number)].values);
}

TEST_CASE("doctor checks a sound store and reports trials whose worker is gone", "[store-safety][doctor][slow]") {
  lepton::test::TempDir dir;
  make_store(dir);
  {
    auto store = lepton::engine::open_store(dir.sqlite_url());
    const auto study = store->find_study("safe");
    std::int64_t cursor = 0;
    for (const char* worker : {"pod-7", "pod-8"})
      store->start_trial(study->id, &cursor, worker, [](int, std::vector<lepton::engine::TrialRecord>) {
        return std::optional<lepton::engine::Proposal>(lepton::engine::Proposal{json{{"lr", 0.01}}, 1, ""});
      });
  }
  sql(dir.file("study.db"), "UPDATE trials SET heartbeat_at = heartbeat_at - 600 WHERE worker = 'pod-7'");
  const auto r = run_lepton({"doctor", "--storage", dir.sqlite_url()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("integrity check ok") && Catch::Contains("study safe: 4 trials, 2 running"));
  CHECK_THAT(r.out, Catch::Contains("1 RUNNING trial(s) whose worker is gone") &&
                        Catch::Contains("stale: no heartbeat from worker pod-7 for 60") &&
                        Catch::Contains("s (heartbeat_grace is 120 s)"));
  CHECK_THAT(r.out, !Catch::Contains("pod-8"));  // its heartbeat is fresh
  const json report = json::parse(run_lepton({"doctor", "--storage", dir.sqlite_url(), "--json"}).out);
  CHECK(report["integrity"] == "ok");
  CHECK(report["studies"][0]["abandoned"].size() == 1);
}
