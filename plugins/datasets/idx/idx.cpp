// The IDX dataset plugin: MNIST's file format (big-endian header, then unsigned bytes), plain or
// gzip, as Fashion-MNIST ships it. Training files split into train and valid (stratified, seeded);
// the t10k files, when present, are the test split.
#include <lepton/lepton.hpp>
#include <lepton/splits.hpp>

#include <torch/torch.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;
namespace fs = std::filesystem;

// An IDX file's dimensions and its unsigned-byte payload.
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

IdxArray read_idx(const std::string& file, const std::string& path) {
  gzFile in = gzopen(file.c_str(), "rb");
  if (!in) throw ConfigError(path, "cannot open " + file + ": " + std::strerror(errno));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(in, gzclose);
  auto read_exact = [&](void* buffer, std::size_t size) {
    auto* out = static_cast<char*>(buffer);
    while (size > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30));
      const int n = gzread(in, out, chunk);
      if (n <= 0) throw ConfigError(path, file + " is truncated or unreadable (expected an IDX file)");
      out += n;
      size -= static_cast<std::size_t>(n);
    }
  };
  unsigned char magic[4];
  read_exact(magic, 4);
  if (magic[0] != 0 || magic[1] != 0)
    throw ConfigError(path, file + " is not an IDX file (it does not start with two zero bytes)");
  if (magic[2] != 0x08)
    throw ConfigError(path, file + " holds IDX type 0x" + std::to_string(magic[2]) + "; only unsigned bytes (0x08) are supported");
  IdxArray out;
  std::int64_t count = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    read_exact(b, 4);
    out.dims.push_back((std::int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3]);
    count *= out.dims.back();
  }
  if (out.dims.empty()) throw ConfigError(path, file + " declares no dimensions");
  out.data.resize(static_cast<std::size_t>(count));
  read_exact(out.data.data(), out.data.size());
  return out;
}

// Images {N, 1, rows, cols} scaled to float, and their labels.
lepton::Split read_split(const std::string& images_file, const std::string& labels_file, double scale,
                         std::int64_t classes, const std::string& path) {
  const IdxArray images = read_idx(images_file, path);
  if (images.dims.size() != 3)
    throw ConfigError(path, images_file + " has " + std::to_string(images.dims.size()) +
                                " dimensions; expected images {count, rows, cols}");
  const auto n = images.dims[0];
  lepton::Split split;
  split.x = torch::from_blob(const_cast<std::uint8_t*>(images.data.data()), {n, 1, images.dims[1], images.dims[2]},
                             torch::kUInt8)
                .to(torch::kFloat32)
                .mul_(scale);
  if (labels_file.empty()) return split;
  const IdxArray labels = read_idx(labels_file, path);
  if (labels.dims.size() != 1 || labels.dims[0] != n)
    throw ConfigError(path, labels_file + " holds " + std::to_string(labels.dims[0]) + " labels for the " +
                                std::to_string(n) + " images of " + images_file);
  split.y = torch::from_blob(const_cast<std::uint8_t*>(labels.data.data()), {n}, torch::kUInt8).to(torch::kLong);
  if (classes > 0) split.y = torch::where(split.y < classes, split.y, torch::full_like(split.y, -1));
  return split;
}

// The file itself, or its .gz form, whichever exists.
std::string existing(const fs::path& file) {
  std::error_code ec;
  if (fs::is_regular_file(file, ec)) return file.string();
  const fs::path gz = file.string() + ".gz";
  if (fs::is_regular_file(gz, ec)) return gz.string();
  return "";
}

// A labels file beside an images file: MNIST names them alike ("-images-idx3-" -> "-labels-idx1-").
std::string labels_beside(const std::string& images) {
  std::string name = fs::path(images).filename().string();
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"images-idx3", "labels-idx1"}, {"images", "labels"}}) {
    const auto at = name.find(from);
    if (at == std::string::npos) continue;
    name.replace(at, from.size(), to);
    const fs::path candidate = fs::path(images).parent_path() / name;
    std::error_code ec;
    return fs::is_regular_file(candidate, ec) ? candidate.string() : "";
  }
  return "";
}

class IdxDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    const double scale = cfg.optional<double>("scale", 1.0 / 255.0);
    const bool standardize = cfg.optional<bool>("standardize", false);
    std::vector<std::string> class_names;
    if (cfg.has("class_names")) {
      const json& names = cfg.raw("class_names");
      if (!names.is_array() || names.empty()) throw ConfigError(cfg.path_of("class_names"), "expected an array of names");
      for (std::size_t i = 0; i < names.size(); ++i)
        class_names.push_back(lepton::convert<std::string>(names[i], cfg.path_of("class_names") + "[" + std::to_string(i) + "]"));
    }
    if (request.predict) return load_for_prediction(cfg, request, scale);

    std::string images, labels, test_images, test_labels;
    if (cfg.has("path")) {
      const std::string folder = cfg.required<std::string>("path");
      fs::path dir = folder;
      if (dir.is_relative())
        for (const auto& base : request.search_dirs)
          if (fs::is_directory(fs::path(base) / folder)) {
            dir = fs::path(base) / folder;
            break;
          }
      if (!fs::is_directory(dir))
        throw ConfigError(cfg.path_of("path"), "no folder \"" + folder + "\"; Fashion-MNIST comes with `apt-get install dataset-fashion-mnist` in /usr/share/datasets/fashion-mnist");
      images = existing(dir / "train-images-idx3-ubyte");
      labels = existing(dir / "train-labels-idx1-ubyte");
      test_images = existing(dir / "t10k-images-idx3-ubyte");
      test_labels = existing(dir / "t10k-labels-idx1-ubyte");
      if (images.empty() || labels.empty())
        throw ConfigError(cfg.path_of("path"), dir.string() + " has no train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]");
    } else {
      auto file = [&](const char* key) { return lepton::resolve_data_file(cfg.required<std::string>(key), request.search_dirs, cfg.path_of(key)); };
      images = file("images");
      labels = file("labels");
      if (cfg.has("test_images")) test_images = file("test_images");
      if (cfg.has("test_labels")) test_labels = file("test_labels");
      if (test_images.empty() != test_labels.empty())
        throw ConfigError(request.path, "give both test_images and test_labels, or neither");
    }
    double valid = 0.1, test = test_images.empty() ? 0.1 : 0.0;
    std::uint64_t seed = 0;
    bool stratify = true;
    if (cfg.has("split")) {
      ConfigObject split = cfg.object("split");
      valid = split.number_in("valid", 0.0, 0.9, valid);
      test = split.number_in("test", 0.0, 0.9, test);
      seed = static_cast<std::uint64_t>(split.integer_in("seed", 0, INT64_MAX, 0));
      stratify = split.optional<bool>("stratify", true);
      split.finish();
      if (valid <= 0) throw ConfigError(split.path_of("valid"), "the search scores trials on the valid split; it needs a fraction > 0");
      if (valid + test >= 0.95) throw ConfigError(split.path(), "valid + test must leave samples to train on");
      if (!test_images.empty() && test > 0)
        throw ConfigError(split.path_of("test"), "the test split comes from the test files; leave out split.test");
    }
    cfg.finish();

    lepton::Split all = read_split(images, labels, scale, 0, cfg.path_of("images"));
    const auto classes = all.y.max().item<std::int64_t>() + 1;
    if (class_names.empty()) {
      for (std::int64_t c = 0; c < classes; ++c) class_names.push_back(std::to_string(c));
    } else if (static_cast<std::int64_t>(class_names.size()) < classes) {
      throw ConfigError(cfg.path_of("class_names"), "names " + std::to_string(class_names.size()) +
                                                        " classes, but the labels go up to " + std::to_string(classes - 1));
    }
    const auto y = all.y.contiguous();
    const std::vector<std::int64_t> label_list(y.data_ptr<std::int64_t>(), y.data_ptr<std::int64_t>() + y.numel());
    lepton::SplitOptions split_options;
    split_options.valid = valid;
    split_options.test = test;
    split_options.seed = seed;
    split_options.stratify = stratify;
    const auto parts = lepton::split_rows(label_list, static_cast<std::int64_t>(class_names.size()), split_options);
    const std::vector<std::int64_t> shape{1, all.x.size(2), all.x.size(3)};
    lepton::DataSplits out;
    out.train = lepton::take_rows(all.x, all.y, parts[0], shape);
    out.valid = lepton::take_rows(all.x, all.y, parts[1], shape);
    if (test_images.empty()) {
      out.test = lepton::take_rows(all.x, all.y, parts[2], shape);
    } else {
      // The test files' samples follow the training files' in the row numbering.
      out.test = read_split(test_images, test_labels, scale, 0, cfg.path_of("test_images"));
      out.test.index = torch::arange(all.size(), all.size() + out.test.size(), torch::kLong);
    }
    if (out.test.size() > 0 && out.test.y.max().item<std::int64_t>() >= static_cast<std::int64_t>(class_names.size()))
      throw ConfigError(cfg.path_of("test_labels"), "the test labels go beyond the " + std::to_string(class_names.size()) +
                                                        " classes of the training labels");
    out.fitted = {{"class_names", class_names}};
    if (standardize) out.fitted["standardization"] = lepton::standardize(out).to_json();
    out.input_shape = shape;
    out.class_names = class_names;
    out.info = {{"images", images},         {"rows", all.size() + (test_images.empty() ? 0 : out.test.size())},
                {"train", out.train.size()}, {"valid", out.valid.size()},
                {"test", out.test.size()},  {"classes", class_names.size()}};
    return out;
  }

 private:
  // Reads the images file given to `lepton predict`, with the labels file beside it if there is one.
  static lepton::DataSplits load_for_prediction(const ConfigObject& cfg, const lepton::DatasetRequest& request,
                                                double scale) {
    const json& fitted = request.fitted;
    if (!fitted.is_object() || !fitted.contains("class_names"))
      throw ConfigError("model.json: dataset.fitted", "expected the idx plugin's fitted state (class_names)");
    const auto class_names = fitted.at("class_names").get<std::vector<std::string>>();
    const std::string images = lepton::resolve_data_file(request.file, request.search_dirs, "--data");
    lepton::DataSplits out;
    out.test = read_split(images, labels_beside(images), scale, static_cast<std::int64_t>(class_names.size()), "--data");
    if (fitted.contains("standardization"))
      out.test.x = lepton::Standardization::from_json(fitted.at("standardization"), "model.json: dataset.fitted.standardization")
                       .apply(out.test.x);
    out.input_shape = {1, out.test.x.size(2), out.test.x.size(3)};
    out.class_names = class_names;
    out.fitted = fitted;
    out.info = {{"images", images}, {"labels", out.test.y.defined()}};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<IdxDataset>()); }
