// initdb/pg_ctl driven from tests, as root (through setpriv to `nobody`) or as a normal user.
#include "support/postgres_server.hpp"

#include "support/process.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace fs = std::filesystem;

namespace lepton::test {

namespace {

constexpr const char* kPort = "5432";  // only names the socket file; nothing listens on TCP

// When root, the prefix that runs a command as `nobody`; empty otherwise.
std::vector<std::string> as_server_user() {
  if (geteuid() != 0) return {};
  const passwd* nobody = getpwnam("nobody");
  if (!nobody) throw std::runtime_error("running as root and there is no user 'nobody' to run PostgreSQL as");
  return {"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody->pw_uid), "--regid=" + std::to_string(nobody->pw_gid),
          "--clear-groups", "--"};
}

void give_to_server_user(const std::string& path) {
  if (geteuid() != 0) return;
  const passwd* nobody = getpwnam("nobody");
  if (chown(path.c_str(), nobody->pw_uid, nobody->pw_gid) != 0)
    throw std::runtime_error("cannot give " + path + " to user nobody");
}

ProcessResult run_as_server(std::vector<std::string> args) {
  auto full = as_server_user();
  full.insert(full.end(), args.begin(), args.end());
  // From "/", a folder the server user can always enter (the test's may be root's private home).
  return run_process(full, {{"LC_ALL", "C"}}, "/");
}

std::string make_temp_folder(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  give_to_server_user(pattern);
  return pattern;
}

// An initialized cluster to copy: initdb costs seconds, a copy a fraction of one.
std::string template_cluster() {
  const std::string bin = postgres_bin_dir();
  const std::string version = fs::path(bin).parent_path().filename().string();
  const fs::path cache = fs::temp_directory_path() / ("lepton-pg-template-" + version + "-uid" + std::to_string(geteuid()));
  if (fs::exists(cache / "data" / "PG_VERSION")) return (cache / "data").string();
  const std::string staging = make_temp_folder("lepton-pg-init-");
  const auto r = run_as_server({bin + "/initdb", "-D", staging + "/data", "-U", "lepton", "--auth=trust", "-N",
                                "-E", "UTF8", "--locale=C"});
  if (r.exit_code != 0) throw std::runtime_error("initdb failed:\n" + r.out + r.err);
  std::error_code ec;
  fs::rename(staging, cache, ec);  // another test may have won the race: then use its template
  if (ec) fs::remove_all(staging, ec);
  return (cache / "data").string();
}

}  // namespace

std::string postgres_bin_dir() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& version : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(version.path() / "bin" / "initdb")) found.push_back(version.path() / "bin");
  if (found.empty()) return "";
  std::sort(found.begin(), found.end());
  return found.back().string();
}

PostgresServer::PostgresServer() {
  if (postgres_bin_dir().empty())
    throw std::runtime_error("PostgreSQL server programs not found under /usr/lib/postgresql; run scripts/setup");
  const std::string source = template_cluster();
  folder_ = make_temp_folder("lepton-pg-");
  data_ = folder_ + "/data";
  const auto copy = run_process({"/bin/cp", "-a", source, data_});
  if (copy.exit_code != 0) throw std::runtime_error("cannot copy the template cluster: " + copy.err);
  pg_ctl("start");
}

PostgresServer::~PostgresServer() {
  try {
    pg_ctl("stop", "-m immediate");
  } catch (const std::exception&) {
    // already stopped
  }
  std::error_code ec;
  if (!std::getenv("LEPTON_KEEP_TEST_FILES")) fs::remove_all(folder_, ec);
}

std::string PostgresServer::url() const {
  return "postgresql:///postgres?host=" + folder_ + "&port=" + kPort + "&user=lepton";
}

void PostgresServer::restart() {
  pg_ctl("stop", "-m fast");
  pg_ctl("start");
}

std::string PostgresServer::sql(const std::string& statement) const {
  const auto r = run_process({"/usr/bin/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", folder_, "-p",
                              kPort, "-U", "lepton", "-d", "postgres", "-c", statement});
  if (r.exit_code != 0) throw std::runtime_error("psql: " + statement + ": " + r.err);
  return r.out;
}

void PostgresServer::pg_ctl(const std::string& action, const std::string& extra) const {
  std::vector<std::string> args{postgres_bin_dir() + "/pg_ctl", "-D", data_, "-l", folder_ + "/server.log", "-w",
                                "-t", "60"};
  if (action == "start")
    args.insert(args.end(), {"-o", "-k " + folder_ + " -c listen_addresses= -p " + kPort +
                                       " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"});
  if (!extra.empty()) {
    args.push_back(extra.substr(0, extra.find(' ')));
    args.push_back(extra.substr(extra.find(' ') + 1));
  }
  args.push_back(action);
  const auto r = run_as_server(args);
  if (r.exit_code != 0)
    throw std::runtime_error("pg_ctl " + action + " failed: " + r.out + r.err + "\n" + read_file(folder_ + "/server.log"));
}

}  // namespace lepton::test
