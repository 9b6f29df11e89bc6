// The TorchScript test files: Python writes them into one folder per test process.
#include "support/torchscript.hpp"

#include "support/temp_dir.hpp"

#include <stdexcept>

namespace lepton::test {

ProcessResult run_python(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> command{LEPTON_PYTHON, std::string(LEPTON_SOURCE_DIR) + "/tests/torchscript/" + script};
  command.insert(command.end(), args.begin(), args.end());
  return run_process(command);
}

std::string torchscript_module(const std::string& name) {
  static const TempDir folder;  // removed when the test process exits
  static const bool written = [] {
    const auto r = run_python("write_modules.py", {folder.path()});
    if (r.exit_code != 0)
      throw std::runtime_error(std::string(LEPTON_PYTHON) + " could not write the TorchScript test modules (install "
                               "Debian's python3-torch: bash scripts/setup): " + r.err);
    return true;
  }();
  return written ? folder.file(name) : "";
}

}  // namespace lepton::test
