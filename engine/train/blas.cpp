#include "train/blas.hpp"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace lepton::engine {

std::string blas_library() {
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  Dl_info info;
  if (!sgemm || dladdr(sgemm, &info) == 0 || !info.dli_fname) return "";
  std::error_code ec;
  const auto resolved = std::filesystem::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : resolved.string();
}

bool is_reference_blas(const std::string& library) {
  const std::filesystem::path path(library);
  return path.parent_path().filename() == "blas" && path.filename().string().rfind("libblas.so", 0) == 0;
}

bool is_thread_unsafe_blas(const std::string& library) {
  return std::filesystem::path(library).parent_path().filename() == "openblas-serial";
}

void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(threads);
}

}  // namespace lepton::engine
