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

/// Whether `library` is OpenBLAS's serial build, which Debian compiles without locking: calls from
/// several threads at once race on its buffers and give wrong results (OpenBLAS issues #1755, #2126),
/// so trials in threads must not share it. The pthread build locks.
bool is_thread_unsafe_blas(const std::string& library);

/// The threads one BLAS call may use, where the library lets us say (OpenBLAS's
/// openblas_set_num_threads, process-wide). Trials use 1: parallel trials do not oversubscribe the
/// cores, and a matrix product gives the same bits whatever the parallelism (a threaded product
/// splits its sums differently). Does nothing for other libraries.
void set_blas_threads(int threads);

}  // namespace lepton::engine
