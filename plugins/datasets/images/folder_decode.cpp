// Decoding image files in parallel, with the checks that come before: readable headers, the
// shape, the memory the pixels will take.
#include "folder_decode.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace lepton::images {

namespace {

constexpr std::size_t kProgressFrom = 2000;   // folders at least this large print progress
constexpr double kMemoryShare = 0.8;          // of the available memory the images may take
constexpr int kDefaultSide = 224;             // the size images of mixed sizes get when none is given
constexpr std::size_t kBadFilesNamed = 3;

std::string show_bytes(double bytes) {
  char buffer[32];
  const char* units[] = {"bytes", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) bytes /= 1000, ++u;
  std::snprintf(buffer, sizeof buffer, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buffer;
}

// What this process may still allocate: the kernel's MemAvailable, or less under a cgroup limit.
double available_memory() {
  double available = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    double kb = 0;
    meminfo >> kb;
    if (key == "MemAvailable:") available = kb * 1024;
    meminfo.ignore(256, '\n');
  }
  std::ifstream max_file("/sys/fs/cgroup/memory.max"), current_file("/sys/fs/cgroup/memory.current");
  std::string max;
  double current = 0;
  if (max_file >> max && max != "max" && current_file >> current)
    available = std::min(available > 0 ? available : 1e300, std::max(0.0, std::stod(max) - current));
  return available;
}

// Prints "decoding images: k/N" on stderr about once a second while a large folder decodes.
class Progress {
 public:
  Progress(std::string what, std::size_t total) : what_(std::move(what)), total_(total) {
    if (total_ >= kProgressFrom) printer_ = std::thread([this] { run(); });
  }
  ~Progress() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    if (printer_.joinable()) {
      printer_.join();
      std::fprintf(stderr, "%s%s: %zu/%zu\n", tty_ ? "\r" : "", what_.c_str(), total_, total_);
    }
  }
  void advance() { count_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return done_; })) {
      std::fprintf(stderr, "%s%s: %zu/%zu%s", tty_ ? "\r" : "", what_.c_str(), count_.load(), total_, tty_ ? "" : "\n");
      std::fflush(stderr);
    }
  }
  std::string what_;
  std::size_t total_;
  bool tty_ = isatty(2) != 0;
  std::atomic<std::size_t> count_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread printer_;
};

// Runs `work(i)` for every file in parallel; returns each file's error, empty when it went well.
template <typename Work>
std::vector<std::string> for_each_file(const std::vector<ImageFile>& files, const std::string& what, Work&& work) {
  std::vector<std::string> errors(files.size());
  Progress progress(what, files.size());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, files.size(), 4), [&](const auto& range) {
    for (std::size_t i = range.begin(); i != range.end(); ++i) {
      try {
        work(i);
      } catch (const BadImage& e) {
        errors[i] = e.what();
      }
      progress.advance();
    }
  });
  return errors;
}

// The files that could not be read, across the header and decoding passes.
struct BadFiles {
  bool skip = true;
  std::string path;  // JSON path of the option naming the files
  std::vector<std::pair<std::string, std::string>> files;  // name, why

  // Applies on_bad_file to `errors`: throws for "fail", else returns the rows to keep.
  std::vector<std::size_t> keep_good(const std::vector<ImageFile>& all, const std::vector<std::string>& errors) {
    std::vector<std::size_t> keep;
    std::size_t first_bad = all.size(), bad = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (errors[i].empty()) {
        keep.push_back(i);
        continue;
      }
      if (bad++ == 0) first_bad = i;
      files.emplace_back(all[i].name, errors[i]);
    }
    if (bad > 0 && !skip)
      throw ConfigError(path, "cannot read " + all[first_bad].path + ": " + errors[first_bad] +
                                  (bad > 1 ? " (and " + std::to_string(bad - 1) + " more bad files)" : "") +
                                  "; remove or fix it, or set \"on_bad_file\": \"skip\" to leave such files out");
    return keep;
  }

  void add_notice(json& notices) const {
    if (files.empty()) return;
    std::string named;
    for (std::size_t k = 0; k < std::min(files.size(), kBadFilesNamed); ++k)
      named += (k ? "; " : "") + files[k].first + " (" + files[k].second + ")";
    notices.push_back("skipped " + std::to_string(files.size()) + " unreadable image(s): " + named +
                      (files.size() > kBadFilesNamed ? "; ..." : ""));
  }
};

template <typename T>
std::vector<T> pick(const std::vector<T>& all, const std::vector<std::size_t>& rows) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const auto r : rows) out.push_back(all[r]);
  return out;
}

// What the images become: the given size and channels, else what the files suggest; then a given
// normalization must have one value per channel.
void choose_shape(Options& o, const std::vector<ImageHeader>& headers, json& notices) {
  if (!o.size) {
    std::set<std::pair<int, int>> sizes;
    for (const auto& h : headers) sizes.insert({h.height, h.width});
    if (sizes.size() == 1) {
      o.size = std::array<int, 2>{sizes.begin()->first, sizes.begin()->second};
    } else {
      std::vector<int> shorter;
      for (const auto& h : headers) shorter.push_back(std::min(h.width, h.height));
      std::nth_element(shorter.begin(), shorter.begin() + static_cast<std::ptrdiff_t>(shorter.size() / 2), shorter.end());
      const int side = std::min(kDefaultSide, shorter[shorter.size() / 2]);
      o.size = std::array<int, 2>{side, side};
      notices.push_back("the images come in " + std::to_string(sizes.size()) + " sizes; each was scaled and centre-cropped to " +
                        std::to_string(side) + "x" + std::to_string(side) + " (set \"size\": [height, width] to choose)");
    }
  }
  if (o.channels == 0) {
    const bool all_gray = std::all_of(headers.begin(), headers.end(),
                                      [](const ImageHeader& h) { return h.mode == "gray" || h.mode == "gray+alpha"; });
    o.channels = all_gray ? 1 : 3;
  }
  // Checked here, given or derived, so a wrong length is said before any pixel is decoded.
  if (o.normalize.kind == "given" && o.normalize.mean.size() != static_cast<std::size_t>(o.channels))
    throw ConfigError(o.normalize.path, "gives " + std::to_string(o.normalize.mean.size()) + " means for images of " +
                                            std::to_string(o.channels) + " channels");
}

// Refuses, before any pixel is decoded, a data set that would not fit in memory.
void check_memory(const Options& o, std::size_t images, const std::string& path) {
  const double pixels = static_cast<double>(images) * o.channels * (*o.size)[0] * (*o.size)[1];
  // Bytes throughout (networks scale them batch by batch): the decoded images, the splits taken
  // from them, and a training epoch's shuffled copy.
  constexpr double kCopies = 3;
  const double needed = pixels * kCopies;
  const double limit = o.max_memory ? *o.max_memory : kMemoryShare * available_memory();
  if (limit <= 0 || needed <= limit) return;
  const double factor = std::sqrt(limit / needed);
  const int side = std::max(1, static_cast<int>(std::floor(std::min((*o.size)[0], (*o.size)[1]) * factor)));
  throw ConfigError(path, std::to_string(images) + " images of " + std::to_string(o.channels) + "x" +
                              std::to_string((*o.size)[0]) + "x" + std::to_string((*o.size)[1]) + " need " +
                              show_bytes(needed) + " in memory (" + show_bytes(pixels) + " of pixels as bytes, held " +
                              "as decoded, as split, and shuffled for each training epoch), but only " + show_bytes(limit) +
                              (o.max_memory ? " are allowed (max_memory)" : " can be used (80% of the memory available)") +
                              "; set a smaller \"size\" (about [" + std::to_string(side) + ", " + std::to_string(side) +
                              "] fits)" + (o.channels == 3 ? " or \"channels\": 1" : "") + ", or use fewer images");
}

}  // namespace

json describe(const std::vector<ImageHeader>& headers) {
  std::vector<int> widths, heights;
  std::map<std::string, std::int64_t> modes, formats;
  std::set<std::pair<int, int>> sizes;
  for (const auto& h : headers) {
    widths.push_back(h.width);
    heights.push_back(h.height);
    ++modes[h.mode];
    ++formats[h.format];
    sizes.insert({h.width, h.height});
  }
  auto spread = [](std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return json{{"min", v.front()}, {"median", v[v.size() / 2]}, {"max", v.back()}};
  };
  return {{"files", headers.size()}, {"width", spread(widths)}, {"height", spread(heights)},
          {"distinct_sizes", sizes.size()}, {"modes", modes}, {"formats", formats}};
}

// Reads every file's header, settles the shape, checks memory, then decodes: bad files are
// dropped (or refuse the study) at either step.
Decoded decode_files(std::vector<ImageFile> files, Options& o, const std::string& path, json& notices) {
  BadFiles bad{o.skip_bad, path, {}};
  std::vector<ImageHeader> headers(files.size());
  auto errors = for_each_file(files, "reading image headers", [&](std::size_t i) {
    headers[i] = read_header(read_file(files[i].path));
  });
  auto keep = bad.keep_good(files, errors);
  if (keep.empty()) throw ConfigError(path, "none of the " + std::to_string(files.size()) + " images could be read");
  files = pick(files, keep);
  headers = pick(headers, keep);
  choose_shape(o, headers, notices);
  check_memory(o, files.size(), path);
  const int c = o.channels, h = (*o.size)[0], w = (*o.size)[1];
  at::Tensor pixels = torch::empty({static_cast<std::int64_t>(files.size()), c, h, w}, torch::kUInt8);
  auto* base = pixels.data_ptr<std::uint8_t>();
  const std::size_t per_image = static_cast<std::size_t>(c) * static_cast<std::size_t>(h) * static_cast<std::size_t>(w);
  errors = for_each_file(files, "decoding images", [&](std::size_t i) {
    decode_fitted(read_file(files[i].path), c, h, w, base + i * per_image);
  });
  keep = bad.keep_good(files, errors);
  bad.add_notice(notices);
  if (keep.size() != files.size()) {
    std::vector<std::int64_t> rows(keep.begin(), keep.end());
    pixels = pixels.index_select(0, torch::tensor(rows, torch::kLong));
    files = pick(files, keep);
    headers = pick(headers, keep);
  }
  if (files.empty()) throw ConfigError(path, "none of the images could be decoded");
  return {std::move(files), std::move(headers), pixels};
}

}  // namespace lepton::images
