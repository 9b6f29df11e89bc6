// TorchScript files for the tests, written by Python (Debian python3-torch) as a user would.
#pragma once

#include "support/process.hpp"

#include <string>
#include <vector>

namespace lepton::test {

/// Runs tests/torchscript/`script` with the build's Python (LEPTON_PYTHON) and `args`.
ProcessResult run_python(const std::string& script, const std::vector<std::string>& args);

/// The path of a file tests/torchscript/write_modules.py writes (cnn10.pt, state_dict.pt, ...),
/// written once per test process. Throws when Python cannot write them (python3-torch missing).
std::string torchscript_module(const std::string& name);

}  // namespace lepton::test
