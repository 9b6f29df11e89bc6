// A fresh temporary folder per test, removed afterwards (kept when LEPTON_KEEP_TEST_FILES is set).
#pragma once

#include <lepton/config.hpp>

#include <string>

namespace lepton::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// path()/name
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// "sqlite:///" + file(name)
  std::string sqlite_url(const std::string& name = "study.db") const { return "sqlite:///" + file(name); }
  /// Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;
  std::string write_json(const std::string& name, const json& content) const { return write(name, content.dump(2)); }

 private:
  std::string path_;
};

/// A small, fast experiment on the breast-cancer data (random search), for tests to adjust.
json small_experiment(const std::string& name = "bc-test", int trials = 4, int epochs = 3);

}  // namespace lepton::test
