// Decoding a list of image files into one uint8 tensor: headers first (sizes, modes, the memory
// estimate, the shape when the options leave it open), then the pixels, in parallel on TBB, with
// progress on large folders and bad files skipped or refused as on_bad_file says.
#pragma once

#include "decode.hpp"
#include "image_list.hpp"
#include "options.hpp"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace lepton::images {

struct Decoded {
  std::vector<ImageFile> files;      ///< the files that could be read, in the order given
  std::vector<ImageHeader> headers;  ///< theirs
  at::Tensor pixels;                 ///< uint8 {N, C, H, W}
};

/// Decodes `files` to the options' size and channels, settling them from the headers when the
/// options leave them open (and saying so in `notices`). Refuses, before decoding, images that
/// would not fit in memory. `path` is the JSON path errors name.
Decoded decode_files(std::vector<ImageFile> files, Options& options, const std::string& path, json& notices);

/// The spread of the images' sizes, modes and formats, for DataSplits::info.
json describe(const std::vector<ImageHeader>& headers);

}  // namespace lepton::images
