// The images dataset plugin: folders of photos as torchvision's ImageFolder reads them (one folder
// per class, optionally already split into train/val/test), CSV manifests, or separate train, valid
// and test sources. Every image is decoded once, in parallel, fitted to one size (shorter side,
// centre crop) and kept as bytes until the normalization fitted on the training split turns the
// splits into tensors. Files that cannot be read are skipped with a notice, or refuse the study.
#include "decode.hpp"
#include "image_list.hpp"

#include "../csv/data_files.hpp"

#include <lepton/lepton.hpp>
#include <lepton/splits.hpp>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;
using lepton::images::ImageFile;
using lepton::images::ImageHeader;
namespace fs = std::filesystem;

constexpr std::size_t kProgressFrom = 2000;   // folders at least this large print progress
constexpr double kMemoryShare = 0.8;          // of the available memory the images may take
constexpr int kDefaultSide = 224;             // the size images of mixed sizes get when none is given
constexpr std::size_t kBadFilesNamed = 3;

struct Normalization {
  std::string kind = "fit";  // fit, none, given
  std::vector<double> mean, std;
};

struct Options {
  std::optional<std::array<int, 2>> size;  // {height, width}
  int channels = 0;                        // 0: from the images
  bool skip_bad = true;
  Normalization normalize;
  std::optional<double> max_memory;        // bytes
};

// An array of numbers, each checked with its own JSON path.
std::vector<double> numbers(const ConfigObject& cfg, const std::string& key) {
  const json& v = cfg.raw(key);
  if (!v.is_array()) throw ConfigError(cfg.path_of(key), "expected an array of numbers");
  std::vector<double> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(lepton::convert<double>(v[i], cfg.path_of(key) + "[" + std::to_string(i) + "]"));
  return out;
}

Normalization read_normalization(const ConfigObject& cfg) {
  Normalization n;
  if (!cfg.has("normalize")) return n;
  const json& v = cfg.raw("normalize");
  const std::string path = cfg.path_of("normalize");
  if (v.is_string()) {
    n.kind = cfg.one_of("normalize", {"fit", "none", "imagenet"}, std::string("fit"));
    if (n.kind == "imagenet") n = {"given", {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
    return n;
  }
  ConfigObject given = cfg.object("normalize");
  n.kind = "given";
  n.mean = numbers(given, "mean");
  n.std = numbers(given, "std");
  given.finish();
  if (n.mean.empty() || n.mean.size() != n.std.size())
    throw ConfigError(path, "expected mean and std of one value per channel (in 0..1 units), e.g. "
                            "{\"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.25, 0.25]}");
  for (const double s : n.std)
    if (!(s > 0)) throw ConfigError(given.path_of("std"), "every std must be > 0");
  return n;
}

// "2GB", "512 MB", "1.5e9" or a number of bytes.
double read_bytes(const ConfigObject& cfg, const std::string& key) {
  const json& v = cfg.raw(key);
  if (v.is_number()) return v.get<double>();
  const std::string text = v.is_string() ? v.get<std::string>() : "";
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  std::string unit(end ? end : "");
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::map<std::string, double> kUnits{{"", 1}, {"B", 1}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
                                                    {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}};
  const auto unit_it = kUnits.find(unit);
  if (text.empty() || end == text.c_str() || unit_it == kUnits.end() || !(number > 0))
    throw ConfigError(cfg.path_of(key), "expected a size in bytes such as 2000000000 or \"2GB\"");
  return number * unit_it->second;
}

Options read_options(const ConfigObject& cfg) {
  Options o;
  if (cfg.has("size")) {
    const auto size = numbers(cfg, "size");
    if (size.size() != 2 || size[0] < 1 || size[1] < 1 || size[0] > 8192 || size[1] > 8192 ||
        size[0] != std::floor(size[0]) || size[1] != std::floor(size[1]))
      throw ConfigError(cfg.path_of("size"), "expected [height, width] in pixels, e.g. [224, 224]");
    o.size = std::array<int, 2>{static_cast<int>(size[0]), static_cast<int>(size[1])};
  }
  if (cfg.has("channels")) {
    o.channels = static_cast<int>(cfg.integer_in("channels", 1, 3, 3));
    if (o.channels == 2) throw ConfigError(cfg.path_of("channels"), "expected 1 (gray) or 3 (RGB)");
  }
  o.skip_bad = cfg.one_of("on_bad_file", {"skip", "fail"}, std::string("skip")) == "skip";
  o.normalize = read_normalization(cfg);
  if (o.normalize.kind == "given" && o.channels != 0 && o.normalize.mean.size() != static_cast<std::size_t>(o.channels))
    throw ConfigError(cfg.path_of("normalize"), "gives " + std::to_string(o.normalize.mean.size()) + " means for " +
                                                    std::to_string(o.channels) + " channels");
  if (cfg.has("max_memory")) o.max_memory = read_bytes(cfg, "max_memory");
  return o;
}

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

// A folder or file named in the experiment: as given when absolute, else under the first search
// folder that has it.
std::string resolve_source(const std::string& given, const std::vector<std::string>& search_dirs,
                           const std::string& path) {
  if (given.empty()) throw ConfigError(path, "expected a folder or file name, got an empty string");
  std::string looked;
  for (const auto& dir : fs::path(given).is_absolute() || search_dirs.empty() ? std::vector<std::string>{""} : search_dirs) {
    const fs::path candidate = fs::absolute(dir.empty() ? fs::path(given) : fs::path(dir) / given).lexically_normal();
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate.string();
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  throw ConfigError(path, "\"" + given + "\" not found; looked for " + looked);
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
      } catch (const lepton::images::BadImage& e) {
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

// The spread of the images' sizes, modes and formats, for DataSplits::info (and `lepton data inspect`).
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

// What the images become: the given size and channels, else what the files suggest.
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
}

// Refuses, before any pixel is decoded, a data set that would not fit in memory.
void check_memory(const Options& o, std::size_t images, const std::string& path) {
  const double pixels = static_cast<double>(images) * o.channels * (*o.size)[0] * (*o.size)[1];
  const double needed = pixels * (1 + sizeof(float));  // the byte cache, then the float tensors
  const double limit = o.max_memory ? *o.max_memory : kMemoryShare * available_memory();
  if (limit <= 0 || needed <= limit) return;
  const double factor = std::sqrt(limit / needed);
  const int side = std::max(1, static_cast<int>(std::floor(std::min((*o.size)[0], (*o.size)[1]) * factor)));
  throw ConfigError(path, std::to_string(images) + " images of " + std::to_string(o.channels) + "x" +
                              std::to_string((*o.size)[0]) + "x" + std::to_string((*o.size)[1]) + " need " +
                              show_bytes(needed) + " in memory (" + show_bytes(pixels) + " of pixels as bytes, " +
                              show_bytes(pixels * sizeof(float)) + " as float tensors), but only " + show_bytes(limit) +
                              (o.max_memory ? " are allowed (max_memory)" : " can be used (80% of the memory available)") +
                              "; set a smaller \"size\" (about [" + std::to_string(side) + ", " + std::to_string(side) +
                              "] fits)" + (o.channels == 3 ? " or \"channels\": 1" : "") + ", or use fewer images");
}

struct Decoded {
  std::vector<ImageFile> files;
  std::vector<ImageHeader> headers;
  at::Tensor pixels;  // uint8 {N, C, H, W}
};

// Reads every file's header, settles the shape, checks memory, then decodes: bad files are
// dropped (or refuse the study) at either step.
Decoded decode_files(std::vector<ImageFile> files, Options& o, const std::string& path, json& notices) {
  BadFiles bad{o.skip_bad, path, {}};
  std::vector<ImageHeader> headers(files.size());
  auto errors = for_each_file(files, "reading image headers", [&](std::size_t i) {
    headers[i] = lepton::images::read_header(lepton::images::read_file(files[i].path));
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
    lepton::images::decode_fitted(lepton::images::read_file(files[i].path), c, h, w, base + i * per_image);
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

// Per-channel mean and std in 0..1 units over `pixels` {N, C, H, W}.
std::pair<std::vector<double>, std::vector<double>> channel_statistics(const at::Tensor& pixels) {
  const auto c = pixels.size(1);
  const auto per_channel = pixels.transpose(0, 1).reshape({c, -1});
  std::vector<double> mean(static_cast<std::size_t>(c)), std(static_cast<std::size_t>(c));
  tbb::parallel_for(std::int64_t{0}, c, [&](std::int64_t k) {
    const auto row = per_channel[k].contiguous();
    const auto* p = row.data_ptr<std::uint8_t>();
    std::array<std::int64_t, 256> histogram{};
    for (std::int64_t i = 0, n = row.numel(); i < n; ++i) ++histogram[p[i]];
    double n = 0, sum = 0, squares = 0;
    for (int v = 0; v < 256; ++v) {
      const double count = static_cast<double>(histogram[static_cast<std::size_t>(v)]), x = v / 255.0;
      n += count, sum += count * x, squares += count * x * x;
    }
    const double m = n > 0 ? sum / n : 0;
    mean[static_cast<std::size_t>(k)] = m;
    const double s = n > 0 ? std::sqrt(std::max(0.0, squares / n - m * m)) : 0;
    std[static_cast<std::size_t>(k)] = s > 1e-6 ? s : 1.0;
  });
  return {mean, std};
}

// Bytes -> float32 (x / 255 - mean) / std.
at::Tensor normalized(const at::Tensor& pixels, const std::vector<double>& mean, const std::vector<double>& std) {
  const auto c = pixels.size(1);
  auto x = pixels.to(torch::kFloat32).mul_(1.0 / 255.0);
  if (mean.empty()) return x;
  const auto m = torch::tensor(mean, torch::kFloat32).view({1, c, 1, 1});
  const auto s = torch::tensor(std, torch::kFloat32).view({1, c, 1, 1});
  return x.sub_(m).div_(s);
}

json source_notices(const lepton::images::ImageSource& source, const std::string& what) {
  json notices = json::array();
  if (!source.ignored.empty())
    notices.push_back((what.empty() ? std::string() : what + ": ") + "ignored " + std::to_string(source.ignored.size()) + " file(s) that are not images, e.g. " +
                      source.ignored.front());
  return notices;
}

class ImagesDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    Options o = read_options(cfg);
    if (request.predict) return predict(cfg, request, o);
    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);
    cfg.allow({"path"});
    cfg.finish();

    // The sources, laid out train, then valid, then test, as data_files::split_files expects.
    lepton::data_files::DataFiles given;
    std::array<std::vector<ImageFile>, 3> parts;
    json notices = json::array();
    auto list = [&](const std::string& source, const std::string& json_path, const char* what) {
      try {
        auto listed = lepton::images::list_images(source);
        if (!listed.labelled)
          throw ConfigError(json_path, source + " has no class folders; expected " + source +
                                           "/<class>/*.jpg (one folder per class) or a CSV manifest with path,label");
        for (auto& n : source_notices(listed, what)) notices.push_back(n);
        return listed.files;
      } catch (const std::runtime_error& e) {
        if (dynamic_cast<const ConfigError*>(&e)) throw;
        throw ConfigError(json_path, e.what());
      }
    };
    if (cfg.raw("path").is_object()) {
      ConfigObject paths = cfg.object("path");
      const char* keys[] = {"train", "valid", "test"};
      for (std::size_t k = 0; k < 3; ++k) {
        if (!paths.has(keys[k])) continue;
        const std::string source = resolve_source(paths.required<std::string>(keys[k]), request.search_dirs, paths.path_of(keys[k]));
        parts[k] = list(source, paths.path_of(keys[k]), keys[k]);
        (k == 0 ? given.train : k == 1 ? given.valid : given.test) = source;
      }
      paths.finish();
      if (given.train.empty()) throw ConfigError(paths.path(), "expected at least {\"train\": FOLDER}, with \"valid\" and \"test\" optional");
    } else {
      const std::string root = resolve_source(cfg.required<std::string>("path"), request.search_dirs, cfg.path_of("path"));
      const auto folders = lepton::images::split_folders(root);
      if (!folders.train.empty()) {
        given = {folders.train, folders.valid, folders.test, "", "", ""};
        parts[0] = list(folders.train, cfg.path_of("path"), "train");
        if (!folders.valid.empty()) parts[1] = list(folders.valid, cfg.path_of("path"), "valid");
        if (!folders.test.empty()) parts[2] = list(folders.test, cfg.path_of("path"), "test");
      } else {
        given.train = root;
        for (auto& f : list(root, cfg.path_of("path"), "")) {  // a manifest may say each file's split
          if (f.split > 0) (f.split == 1 ? given.valid : given.test) = root;
          parts[static_cast<std::size_t>(std::max(f.split, 0))].push_back(std::move(f));
        }
      }
    }
    std::vector<ImageFile> files;
    for (std::size_t k = 0; k < 3; ++k)
      for (auto& f : parts[k]) {
        f.split = static_cast<int>(k);
        files.push_back(std::move(f));
      }

    // Decode; bad files leave their part, so the parts' sizes are counted after.
    const Decoded d = decode_files(std::move(files), o, cfg.path_of("path"), notices);
    std::array<std::int64_t, 3> sizes{};
    std::set<std::string> train_classes, classes;
    for (const auto& f : d.files) {
      ++sizes[static_cast<std::size_t>(f.split)];
      classes.insert(f.label);
      if (f.split == 0) train_classes.insert(f.label);
    }
    for (const auto& c : classes)
      if (!train_classes.count(c))
        throw ConfigError(cfg.path_of("path"), "class \"" + c + "\" has images in the valid or test split but none for training");
    lepton::DataSplits out;
    out.class_names.assign(classes.begin(), classes.end());
    std::vector<std::int64_t> labels;
    for (const auto& f : d.files)
      labels.push_back(std::lower_bound(out.class_names.begin(), out.class_names.end(), f.label) - out.class_names.begin());
    const auto rows = lepton::data_files::split_files(labels, static_cast<std::int64_t>(out.class_names.size()), split,
                                                      given, sizes[0], sizes[1], sizes[2]);

    std::vector<double> mean = o.normalize.mean, std = o.normalize.std;
    if (o.normalize.kind == "given" && mean.size() != static_cast<std::size_t>(o.channels))
      throw ConfigError(cfg.path_of("normalize"), "gives " + std::to_string(mean.size()) + " means for images of " +
                                                      std::to_string(o.channels) + " channels");
    if (o.normalize.kind == "fit")
      std::tie(mean, std) = channel_statistics(d.pixels.index_select(0, torch::tensor(rows[0], torch::kLong)));
    const auto y = torch::tensor(labels, torch::kLong);
    out.input_shape = {o.channels, (*o.size)[0], (*o.size)[1]};
    // Each split's bytes become floats once: no tensor of every image in float is ever made.
    auto split_of = [&](const std::vector<std::int64_t>& rows) {
      lepton::Split part;
      part.index = torch::tensor(rows, torch::kLong);
      part.x = normalized(d.pixels.index_select(0, part.index), mean, std);
      part.y = y.index_select(0, part.index);
      return part;
    };
    out.train = split_of(rows[0]);
    out.valid = split_of(rows[1]);
    out.test = split_of(rows[2]);
    out.info = {{"path", given.separate() ? json{{"train", given.train}, {"valid", given.valid}, {"test", given.test}} : json(given.train)},
                {"rows", d.files.size()},
                {"images", describe(d.headers)},
                {"split", {{"train", rows[0].size()}, {"valid", rows[1].size()}, {"test", rows[2].size()}}}};
    if (!notices.empty()) out.info["notices"] = notices;
    out.fitted = {{"size", *o.size}, {"channels", o.channels}, {"classes", out.class_names}};
    if (!mean.empty()) out.fitted["normalize"] = {{"mean", mean}, {"std", std}};
    return out;
  }

 private:
  // `lepton predict`: a folder (class folders give labels), a manifest or one image, read with the
  // training run's size, channels and normalization.
  static lepton::DataSplits predict(ConfigObject& cfg, const lepton::DatasetRequest& request, Options& o) {
    cfg.allow({"path", "split"});
    const json& fitted = request.fitted;
    if (!fitted.contains("size") || !fitted.contains("channels"))
      throw ConfigError("model.json: dataset.fitted", "lacks the image size and channels the model was trained on");
    const auto size = fitted.at("size").get<std::vector<int>>();
    o.size = std::array<int, 2>{size.at(0), size.at(1)};
    o.channels = fitted.at("channels").get<int>();
    o.max_memory.reset();
    const auto classes = fitted.value("classes", std::vector<std::string>{});
    lepton::images::ImageSource source;
    try {
      source = lepton::images::list_images(fs::absolute(request.file).string());
    } catch (const std::runtime_error& e) {
      throw ConfigError("--data", e.what());
    }
    json notices = source_notices(source, request.file);
    const Decoded d = decode_files(source.files, o, "--data", notices);
    std::vector<double> mean, std;
    if (fitted.contains("normalize")) {
      mean = fitted["normalize"].at("mean").get<std::vector<double>>();
      std = fitted["normalize"].at("std").get<std::vector<double>>();
    }
    lepton::DataSplits out;
    out.class_names = classes;
    out.input_shape = {o.channels, (*o.size)[0], (*o.size)[1]};
    out.test.x = normalized(d.pixels, mean, std);
    std::vector<std::string> names;
    std::vector<std::int64_t> labels;
    for (const auto& f : d.files) {
      names.push_back(f.name);
      const auto at = std::find(classes.begin(), classes.end(), f.label);
      labels.push_back(at == classes.end() ? -1 : at - classes.begin());
    }
    if (source.labelled) out.test.y = torch::tensor(labels, torch::kLong);
    out.test.index = torch::arange(static_cast<std::int64_t>(d.files.size()), torch::kLong);
    out.info = {{"rows", d.files.size()}, {"images", describe(d.headers)}, {"sample_names", names}};
    if (!notices.empty()) out.info["notices"] = notices;
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<ImagesDataset>()); }
