// bench/images: decoding and loading a folder of photos with the images dataset plugin beside
// torchvision's ImageFolder (PIL) on the same folder, in the same run.
//
//   build/bin/bench_images [--folder DIR] [--size 224] [--repeats 3]
//
// The folder holds class folders, or train/ and val/ folders of class folders (hymenoptera). The
// default is the full-size tutorial set in ../shared/data/hymenoptera when it is there, else the
// project's scaled copy in data/hymenoptera. Both sides read every image, scale its shorter side
// to the size, crop the centre and produce float tensors {3, size, size}:
// - Lepton: the plugin's whole load on TBB's threads (one per core): headers, decoding (JPEG
//   through libjpeg-turbo, which can decode at 1/2, 1/4 or 1/8 scale), resizing, normalization
//   fitted on the training split, and the split itself (the pixels stay bytes), then, timed
//   separately, every image scaled to float as the networks do it batch by batch;
// - torchvision: ImageFolder with Resize, CenterCrop, ToTensor and Normalize, iterated once in
//   this process, and once through a DataLoader with one worker process per core.
#include "plugins/registry.hpp"
#include "train/preprocess.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace lepton::engine;
namespace fs = std::filesystem;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct LeptonTimes {
  double bytes = 0;   // the plugin's load: every split as uint8 pixels
  double floats = 0;  // and then every image scaled to float, as the networks do a batch at a time
};

LeptonTimes lepton_seconds(const Registry& registry, const std::string& folder, int size, std::int64_t* images) {
  lepton::DatasetRequest request;
  request.config = {{"path", folder}, {"size", {size, size}}};
  const auto start = std::chrono::steady_clock::now();
  const lepton::DataSplits data = registry.dataset("images").load(request);
  LeptonTimes t;
  t.bytes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Preprocessor scaling;
  scaling.set_pixels(data.pixels);
  for (const auto* split : {&data.train, &data.valid, &data.test})
    if (split->size() > 0) (void)scaling.scale_pixels(split->x);
  t.floats = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *images = data.train.size() + data.valid.size() + data.test.size();
  return t;
}

constexpr const char* kTorchvision = R"py(
import sys, time, os, torch, torchvision
from torchvision import transforms
folder, size, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)
roots = [os.path.join(folder, d) for d in ("train", "val") if os.path.isdir(os.path.join(folder, d))] or [folder]
t = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
                        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
start = time.perf_counter()
n = 0
for root in roots:
    data = torchvision.datasets.ImageFolder(root, transform=t)
    if workers == 0:
        for x, y in data: n += 1
    else:
        for x, y in torch.utils.data.DataLoader(data, batch_size=32, num_workers=workers): n += x.shape[0]
print(time.perf_counter() - start, n)
)py";

double torchvision_seconds(const std::string& script, const std::string& folder, int size, int workers, std::int64_t* images) {
  const std::string command = "/usr/bin/python3 " + script + " '" + folder + "' " + std::to_string(size) + " " +
                              std::to_string(workers) + " 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start python3");
  double seconds = -1;
  long n = 0;
  if (std::fscanf(pipe, "%lf %ld", &seconds, &n) != 2) seconds = -1;
  if (pclose(pipe) != 0 || seconds < 0)
    throw std::runtime_error("torchvision failed: apt-get install python3-torchvision python3-pil");
  *images = n;
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  std::string folder = fs::exists(LEPTON_SOURCE_DIR "/../shared/data/hymenoptera") ? LEPTON_SOURCE_DIR "/../shared/data/hymenoptera"
                                                                                  : LEPTON_SOURCE_DIR "/data/hymenoptera";
  int size = 224, repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--folder")) folder = argv[i + 1];
    else if (!std::strcmp(argv[i], "--size")) size = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
  }
  folder = fs::canonical(folder).string();
  char pattern[] = "/tmp/lepton-bench-images-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  const std::string script = std::string(pattern) + "/imagefolder.py";
  std::ofstream(script) << kTorchvision;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  Registry registry;
  registry.load_default();
  std::int64_t n_lepton = 0, n_single = 0, n_loader = 0;
  lepton_seconds(registry, folder, size, &n_lepton);  // one untimed pass each: the files in the page cache
  torchvision_seconds(script, folder, size, 0, &n_single);
  std::vector<double> bytes, floats, single, loader;
  for (int k = 0; k < repeats; ++k) {
    const LeptonTimes t = lepton_seconds(registry, folder, size, &n_lepton);
    bytes.push_back(t.bytes);
    floats.push_back(t.floats);
    single.push_back(torchvision_seconds(script, folder, size, 0, &n_single));
    loader.push_back(torchvision_seconds(script, folder, size, cores, &n_loader));
  }
  const double b = median(bytes), l = median(floats), s = median(single), d = median(loader);
  std::printf("%s: %lld images to 3x%dx%d float tensors; median of %d, %d cores\n\n", folder.c_str(),
              static_cast<long long>(n_lepton), size, size, repeats, cores);
  std::printf("| loader | seconds | images per second | Lepton advantage |\n|---|---:|---:|---:|\n");
  std::printf("| Lepton images plugin (TBB, %d threads), bytes as kept | %.3f | %.0f | |\n", cores, b, n_lepton / b);
  std::printf("| the same, then every image scaled to float as networks do | %.3f | %.0f | |\n", l, n_lepton / l);
  std::printf("| torchvision ImageFolder + PIL, one process | %.3f | %.0f | %.2fx (%.2fx to bytes) |\n", s, n_single / s,
              s / l, s / b);
  std::printf("| torchvision ImageFolder + PIL, DataLoader with %d workers | %.3f | %.0f | %.2fx (%.2fx to bytes) |\n", cores,
              d, n_loader / d, d / l, d / b);
  if (n_single != n_lepton || n_loader != n_lepton) std::printf("\n(image counts differ: torchvision read %lld and %lld)\n",
                                                                static_cast<long long>(n_single), static_cast<long long>(n_loader));
  fs::remove_all(pattern);
  return 0;
}
