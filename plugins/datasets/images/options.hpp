// The images plugin's options, read from the experiment's dataset section.
#pragma once

#include <lepton/config.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace lepton::images {

struct Normalization {
  std::string kind = "fit";  // fit, none, given
  std::vector<double> mean, std;
  std::string path;          // its JSON path, for messages
};

struct Options {
  std::optional<std::array<int, 2>> size;  // {height, width}
  int channels = 0;                        // 0: from the images
  bool skip_bad = true;
  Normalization normalize;
  std::optional<double> max_memory;        // bytes
};

/// Reads size, channels, on_bad_file, normalize and max_memory, with errors at their JSON paths.
Options read_options(const ConfigObject& cfg);

}  // namespace lepton::images
