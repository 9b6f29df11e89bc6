// The images dataset plugin: folders of photos as torchvision's ImageFolder reads them (one folder
// per class, optionally already split into train/val/test), CSV manifests, or separate train, valid
// and test sources. Every image is decoded once, in parallel, fitted to one size (shorter side,
// centre crop) and kept as bytes; the normalization fitted on the training split travels beside
// them (DataSplits::pixels) for networks to apply a batch at a time. Files that cannot be read are skipped with a notice, or refuse the study.
#include "folder_decode.hpp"
#include "image_list.hpp"

#include "../csv/data_files.hpp"

#include <lepton/lepton.hpp>
#include <lepton/splits.hpp>

#include <tbb/parallel_for.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <set>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;
using lepton::images::ImageFile;
namespace fs = std::filesystem;

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

// The scaling networks apply to the bytes: the fitted or given mean and std per channel, or none.
lepton::PixelScaling pixel_scaling(std::vector<double> mean, std::vector<double> std, std::int64_t channels) {
  if (mean.empty()) return {std::vector<double>(static_cast<std::size_t>(channels), 0.0),
                            std::vector<double>(static_cast<std::size_t>(channels), 1.0)};
  return {std::move(mean), std::move(std)};
}

json source_notices(const lepton::images::ImageSource& source, const std::string& what) {
  json notices = json::array();
  if (!source.ignored.empty())
    notices.push_back((what.empty() ? std::string() : what + ": ") + "ignored " + std::to_string(source.ignored.size()) + " file(s) that are not images, e.g. " +
                      source.ignored.front());
  return notices;
}

// Every image the experiment's "path" names, each tagged with its part (0 train, 1 valid, 2 test) and
// laid out in that order, as data_files::split_files expects; `given` says which parts came as sources.
std::vector<ImageFile> gather_sources(const ConfigObject& cfg, const lepton::DatasetRequest& request,
                                      lepton::data_files::DataFiles& given, json& notices) {
  std::array<std::vector<ImageFile>, 3> parts;
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
  return files;
}

class ImagesDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    lepton::images::Options o = lepton::images::read_options(cfg);
    if (request.predict) return predict(cfg, request, o);
    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);
    cfg.allow({"path"});
    cfg.finish();

    json notices = json::array();
    lepton::data_files::DataFiles given;
    std::vector<ImageFile> files = gather_sources(cfg, request, given, notices);

    // Decode; bad files leave their part, so the parts' sizes are counted after.
    const lepton::images::Decoded d = lepton::images::decode_files(std::move(files), o, cfg.path_of("path"), notices);
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
    if (o.normalize.kind == "fit")
      std::tie(mean, std) = channel_statistics(d.pixels.index_select(0, torch::tensor(rows[0], torch::kLong)));
    const auto y = torch::tensor(labels, torch::kLong);
    out.input_shape = {o.channels, (*o.size)[0], (*o.size)[1]};
    out.pixels = pixel_scaling(mean, std, o.channels);
    // The splits stay bytes: networks scale them a batch at a time.
    auto split_of = [&](const std::vector<std::int64_t>& rows) {
      lepton::Split part;
      part.index = torch::tensor(rows, torch::kLong);
      part.x = d.pixels.index_select(0, part.index);
      part.y = y.index_select(0, part.index);
      return part;
    };
    out.train = split_of(rows[0]);
    out.valid = split_of(rows[1]);
    out.test = split_of(rows[2]);
    out.info = {{"path", given.separate() ? json{{"train", given.train}, {"valid", given.valid}, {"test", given.test}} : json(given.train)},
                {"rows", d.files.size()},
                {"images", lepton::images::describe(d.headers)},
                {"split", {{"train", rows[0].size()}, {"valid", rows[1].size()}, {"test", rows[2].size()}}}};
    if (!notices.empty()) out.info["notices"] = notices;
    out.fitted = {{"size", *o.size}, {"channels", o.channels}, {"classes", out.class_names}};
    if (!mean.empty()) out.fitted["normalize"] = {{"mean", mean}, {"std", std}};
    return out;
  }

 private:
  // `lepton predict`: a folder (class folders give labels), a manifest or one image, read with the
  // training run's size, channels and normalization.
  static lepton::DataSplits predict(ConfigObject& cfg, const lepton::DatasetRequest& request, lepton::images::Options& o) {
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
    const lepton::images::Decoded d = lepton::images::decode_files(source.files, o, "--data", notices);
    std::vector<double> mean, std;
    if (fitted.contains("normalize")) {
      mean = fitted["normalize"].at("mean").get<std::vector<double>>();
      std = fitted["normalize"].at("std").get<std::vector<double>>();
    }
    lepton::DataSplits out;
    out.class_names = classes;
    out.input_shape = {o.channels, (*o.size)[0], (*o.size)[1]};
    out.test.x = d.pixels;
    out.pixels = pixel_scaling(mean, std, o.channels);
    std::vector<std::string> names;
    std::vector<std::int64_t> labels;
    for (const auto& f : d.files) {
      names.push_back(f.name);
      const auto at = std::find(classes.begin(), classes.end(), f.label);
      labels.push_back(at == classes.end() ? -1 : at - classes.begin());
    }
    if (source.labelled) out.test.y = torch::tensor(labels, torch::kLong);
    out.test.index = torch::arange(static_cast<std::int64_t>(d.files.size()), torch::kLong);
    out.info = {{"rows", d.files.size()}, {"images", lepton::images::describe(d.headers)}, {"sample_names", names}};
    if (!notices.empty()) out.info["notices"] = notices;
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<ImagesDataset>()); }
