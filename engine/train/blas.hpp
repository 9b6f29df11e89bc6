// Which BLAS library LibTorch's matrix products run on: Debian's default is the unoptimized
// reference implementation, which makes small networks train about 3x slower than OpenBLAS.
#pragma once

#include <string>

namespace lepton::engine {

/// The resolved path of the library that provides `sgemm_` in this process; empty when none does.
std::string blas_library();

/// Whether `library` (a resolved path) is the netlib reference BLAS of Debian's libblas3 package,
/// which lives in the `blas/` folder the alternatives system picks from.
bool is_reference_blas(const std::string& library);

}  // namespace lepton::engine
