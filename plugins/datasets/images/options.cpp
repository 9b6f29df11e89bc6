// Reading the images plugin's options.
#include "options.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

namespace lepton::images {

namespace {

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
  const std::string path = n.path = cfg.path_of("normalize");
  if (v.is_string()) {
    n.kind = cfg.one_of("normalize", {"fit", "none", "imagenet"}, std::string("fit"));
    if (n.kind == "imagenet") n = {"given", {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}, path};
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

}  // namespace

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
  o.normalize = read_normalization(cfg);  // its length is checked once the channels are known
  if (cfg.has("max_memory")) o.max_memory = read_bytes(cfg, "max_memory");
  return o;
}

}  // namespace lepton::images
