// Reading image files: the header alone (size, colour mode, format), or the pixels fitted to a
// fixed size. JPEG goes through libjpeg-turbo, PNG through libpng, BMP, GIF, TGA, PSD and PNM
// through stb_image; nothing here parses an image format itself.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lepton::images {

/// A file that is not an image this reader can decode (corrupt, truncated, or another format).
class BadImage : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ImageHeader {
  int width = 0, height = 0;
  std::string format;  ///< "jpeg", "png", "bmp", "gif", ...
  std::string mode;    ///< "gray", "gray+alpha", "rgb", "rgba", "palette", "cmyk"
};

/// The whole file's bytes. Throws BadImage when it cannot be read.
std::vector<unsigned char> read_file(const std::string& file);

/// The header of an image held in `bytes`. Throws BadImage.
ImageHeader read_header(const std::vector<unsigned char>& bytes);

/// Decodes `bytes` into `out` as `channels` (1: gray, 3: RGB) planes of `height` x `width`
/// (channel-major, like a tensor {C, H, W}): the image is scaled so that it covers the size
/// (its shorter side, for a square size), then the centre is cropped. Alpha is dropped, palettes
/// and CMYK become RGB, colour becomes gray by luma. A JPEG larger than the size is decoded at
/// 1/8 .. 7/8 scale by libjpeg-turbo itself when that still covers it. Throws BadImage.
void decode_fitted(const std::vector<unsigned char>& bytes, int channels, int height, int width, std::uint8_t* out);

}  // namespace lepton::images
