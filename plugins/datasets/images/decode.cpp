// Image decoding over libjpeg-turbo, libpng and stb_image, then one resize and centre crop.
// Scratch buffers are per thread: a folder is decoded by many threads at once.
#include "decode.hpp"

#include <cstdio>  // jpeglib.h needs FILE
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstring>
#include <fstream>
#include <initializer_list>

namespace lepton::images {

namespace {

bool starts_with(const std::vector<unsigned char>& bytes, std::initializer_list<unsigned char> magic) {
  return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}
bool is_jpeg(const std::vector<unsigned char>& b) { return starts_with(b, {0xFF, 0xD8, 0xFF}); }
bool is_png(const std::vector<unsigned char>& b) { return starts_with(b, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}); }
// libpng's simplified reader takes 16-bit samples for linear light and gamma-encodes them; they
// are the same encoding as 8-bit ones almost always (medical scans, say), so stb_image's plain
// 16-to-8 scaling reads them instead. The bit depth is the IHDR chunk's ninth byte.
bool is_16_bit_png(const std::vector<unsigned char>& b) { return b.size() > 24 && b[24] == 16; }

// Decoded pixels, rows of width * channels bytes; channels 1 (gray), 3 (RGB) or 4 (CMYK).
struct Pixels {
  int width = 0, height = 0, channels = 0;
  bool adobe_cmyk = false;  ///< CMYK stored inverted, as Adobe writes it
  std::vector<unsigned char> data;
};

// ---- JPEG ---------------------------------------------------------------------------------------

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back to the
// setjmp in run_jpeg. The manager comes first so that libjpeg's pointer to it is a pointer to this.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_fail(j_common_ptr info) {
  auto* errors = reinterpret_cast<JpegErrors*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings are not printed; a premature end of data makes the file bad (libjpeg would fill the
// rest of the image with gray and go on).
void jpeg_warn(j_common_ptr info, int level) {
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegErrors*>(info->err)->truncated = true;
}

// The frame libjpeg may longjmp into holds no object with a destructor: every C++ object it
// touches lives in the caller.
bool run_jpeg(const std::vector<unsigned char>& bytes, bool header_only, bool gray, int height, int width,
              ImageHeader& header, Pixels& pixels, JpegErrors& errors) {
  jpeg_decompress_struct info;
  info.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = jpeg_fail;
  errors.manager.emit_message = jpeg_warn;
  errors.truncated = false;
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&info, TRUE);
  header.width = static_cast<int>(info.image_width);
  header.height = static_cast<int>(info.image_height);
  const bool cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
  const char* mode = cmyk ? "cmyk" : info.num_components == 1 ? "gray" : "rgb";
  header.mode = mode;
  if (header_only) {
    jpeg_destroy_decompress(&info);
    return true;
  }
  info.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
  // libjpeg-turbo's inverse DCT can produce the image at M/8 of its size for much less work: take
  // the smallest M that still covers the size, so the resize after it only ever shrinks a little.
  info.scale_num = 8;
  info.scale_denom = 8;
  for (unsigned m = 1; m < 8; ++m) {
    const auto scaled = [&](JDIMENSION side) { return static_cast<int>((side * m + 7) / 8); };
    if (scaled(info.image_height) >= height && scaled(info.image_width) >= width) {
      info.scale_num = m;
      break;
    }
  }
  jpeg_start_decompress(&info);
  pixels.width = static_cast<int>(info.output_width);
  pixels.height = static_cast<int>(info.output_height);
  pixels.channels = info.output_components;
  pixels.adobe_cmyk = info.saw_Adobe_marker;
  const std::size_t stride = static_cast<std::size_t>(pixels.width) * static_cast<std::size_t>(pixels.channels);
  pixels.data.resize(stride * static_cast<std::size_t>(pixels.height));
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = pixels.data.data() + stride * info.output_scanline;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  if (errors.truncated) std::snprintf(errors.message, sizeof errors.message, "premature end of JPEG data (truncated)");
  return !errors.truncated;
}

void jpeg(const std::vector<unsigned char>& bytes, bool header_only, bool gray, int height, int width,
          ImageHeader& header, Pixels& pixels) {
  JpegErrors errors;
  if (!run_jpeg(bytes, header_only, gray, height, width, header, pixels, errors))
    throw BadImage(std::string("bad JPEG: ") + errors.message);
}

// ---- PNG ----------------------------------------------------------------------------------------

struct PngImage {
  png_image image;
  PngImage() {
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
  }
  ~PngImage() { png_image_free(&image); }
};

void png(const std::vector<unsigned char>& bytes, bool header_only, ImageHeader& header, Pixels& pixels) {
  PngImage png;
  if (!png_image_begin_read_from_memory(&png.image, bytes.data(), bytes.size()))
    throw BadImage(std::string("bad PNG: ") + png.image.message);
  header.width = static_cast<int>(png.image.width);
  header.height = static_cast<int>(png.image.height);
  const auto format = png.image.format;
  const bool color = format & PNG_FORMAT_FLAG_COLOR, alpha = format & PNG_FORMAT_FLAG_ALPHA;
  header.mode = format & PNG_FORMAT_FLAG_COLORMAP ? "palette"
                : color                            ? (alpha ? "rgba" : "rgb")
                                                   : (alpha ? "gray+alpha" : "gray");
  if (header_only) return;
  // Alpha is dropped, not composited, as PIL's convert("RGB") does: decode with it, then skip it.
  png.image.format = color ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB) : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  const int stored = static_cast<int>(PNG_IMAGE_PIXEL_CHANNELS(png.image.format));
  pixels.width = header.width;
  pixels.height = header.height;
  pixels.channels = color ? 3 : 1;
  pixels.data.resize(PNG_IMAGE_SIZE(png.image));
  if (!png_image_finish_read(&png.image, nullptr, pixels.data.data(), 0, nullptr))
    throw BadImage(std::string("bad PNG: ") + png.image.message);
  if (stored == pixels.channels) return;
  const std::size_t n = static_cast<std::size_t>(pixels.width) * static_cast<std::size_t>(pixels.height);
  for (std::size_t i = 0; i < n; ++i)
    std::memmove(&pixels.data[i * static_cast<std::size_t>(pixels.channels)], &pixels.data[i * static_cast<std::size_t>(stored)],
                 static_cast<std::size_t>(pixels.channels));
}

// ---- everything else, through stb_image ---------------------------------------------------------

const char* other_format(const std::vector<unsigned char>& b) {
  if (starts_with(b, {'B', 'M'})) return "bmp";
  if (starts_with(b, {'G', 'I', 'F', '8'})) return "gif";
  if (starts_with(b, {'8', 'B', 'P', 'S'})) return "psd";
  if (starts_with(b, {'P', '5'}) || starts_with(b, {'P', '6'})) return "pnm";
  return "tga";  // the one format stb_image reads that has no signature
}

// Decodes with stb_image into gray or RGB pixels.
void stb_pixels(const std::vector<unsigned char>& bytes, bool gray, Pixels& pixels) {
  const int size = static_cast<int>(std::min<std::size_t>(bytes.size(), 0x7fffffff)), wanted = gray ? 1 : 3;
  int width = 0, height = 0, components = 0;
  stbi_uc* decoded = stbi_load_from_memory(bytes.data(), size, &width, &height, &components, wanted);
  if (!decoded) throw BadImage(std::string("bad image data: ") + stbi_failure_reason());
  pixels.width = width;
  pixels.height = height;
  pixels.channels = wanted;
  pixels.data.assign(decoded, decoded + static_cast<std::size_t>(width) * static_cast<std::size_t>(height) *
                                            static_cast<std::size_t>(wanted));
  stbi_image_free(decoded);
}

void other(const std::vector<unsigned char>& bytes, bool header_only, ImageHeader& header, Pixels& pixels) {
  const int size = static_cast<int>(std::min<std::size_t>(bytes.size(), 0x7fffffff));
  int width = 0, height = 0, components = 0;
  if (!stbi_info_from_memory(bytes.data(), size, &width, &height, &components))
    throw BadImage("not an image format Lepton reads (JPEG, PNG, BMP, GIF, TGA, PSD, PNM): " +
                   std::string(stbi_failure_reason()));
  header.format = other_format(bytes);
  header.width = width;
  header.height = height;
  header.mode = header.format == "gif" ? "palette" : components == 1 ? "gray" : components == 2 ? "gray+alpha"
                                                     : components == 3 ? "rgb" : "rgba";
  if (!header_only) stb_pixels(bytes, components <= 2, pixels);
}

ImageHeader decode(const std::vector<unsigned char>& bytes, bool header_only, bool gray, int height, int width,
                   Pixels& pixels) {
  ImageHeader header;
  if (is_jpeg(bytes)) {
    header.format = "jpeg";
    jpeg(bytes, header_only, gray, height, width, header, pixels);
  } else if (is_png(bytes)) {
    header.format = "png";
    const bool deep = is_16_bit_png(bytes);
    png(bytes, header_only || deep, header, pixels);
    if (!header_only && deep) stb_pixels(bytes, header.mode == "gray" || header.mode == "gray+alpha", pixels);
  } else {
    other(bytes, header_only, header, pixels);
  }
  if (header.width <= 0 || header.height <= 0) throw BadImage("the image has no pixels");
  return header;
}

// ---- colour conversions -------------------------------------------------------------------------

// PIL's (ITU-R 601-2) luma, so a gray image matches what torchvision users get.
unsigned char luma(unsigned r, unsigned g, unsigned b) { return static_cast<unsigned char>((r * 299 + g * 587 + b * 114 + 500) / 1000); }

// Converts `p` in place to `channels` (1 or 3) from gray, RGB or CMYK.
void convert(Pixels& p, int channels) {
  if (p.channels == channels) return;
  const std::size_t n = static_cast<std::size_t>(p.width) * static_cast<std::size_t>(p.height);
  auto& d = p.data;
  if (p.channels == 4) {  // CMYK -> RGB; Adobe stores the inks inverted
    for (std::size_t i = 0; i < n; ++i) {
      unsigned c = d[4 * i], m = d[4 * i + 1], y = d[4 * i + 2], k = d[4 * i + 3];
      if (!p.adobe_cmyk) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
      d[3 * i] = static_cast<unsigned char>((c * k + 127) / 255);
      d[3 * i + 1] = static_cast<unsigned char>((m * k + 127) / 255);
      d[3 * i + 2] = static_cast<unsigned char>((y * k + 127) / 255);
    }
    p.channels = 3;
    d.resize(3 * n);
    if (channels == 3) return;
  }
  if (p.channels == 3 && channels == 1) {
    for (std::size_t i = 0; i < n; ++i) d[i] = luma(d[3 * i], d[3 * i + 1], d[3 * i + 2]);
    d.resize(n);
  } else if (p.channels == 1 && channels == 3) {
    d.resize(3 * n);
    for (std::size_t i = n; i-- > 0;) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = d[i];
  }
  p.channels = channels;
}

// ---- resizing ------------------------------------------------------------------------------------

// The taps of a 1-D resampling from `in` to `out` samples with the triangle filter, widened by the
// shrink factor so every input sample counts (PIL's bilinear resampling, torchvision's default).
struct Taps {
  int width = 0;                   // taps per output sample (padded with zero weights)
  std::vector<int> first;          // each output's first input sample
  std::vector<float> weights;      // out x width, summing to 1 per output
};

Taps taps(int in, int out) {
  const double scale = static_cast<double>(in) / out, support = std::max(scale, 1.0);
  Taps t;
  t.width = static_cast<int>(std::ceil(2 * support)) + 2;
  t.first.resize(static_cast<std::size_t>(out));
  t.weights.assign(static_cast<std::size_t>(out) * static_cast<std::size_t>(t.width), 0.0f);
  for (int o = 0; o < out; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(std::floor(center - support)));
    const int hi = std::min({in, static_cast<int>(std::ceil(center + support)), lo + t.width});
    float* w = &t.weights[static_cast<std::size_t>(o) * static_cast<std::size_t>(t.width)];
    double total = 0;
    for (int i = lo; i < hi; ++i) total += w[i - lo] = static_cast<float>(std::max(0.0, 1 - std::abs((i + 0.5 - center) / support)));
    if (total <= 0) w[std::min(std::max(static_cast<int>(center), lo), hi - 1) - lo] = 1, total = 1;  // a sample between taps
    for (int i = 0; i < t.width; ++i) w[i] = static_cast<float>(w[i] / total);
    t.first[static_cast<std::size_t>(o)] = lo;
  }
  return t;
}

// One row of `C`-channel pixels resampled across: sums of taps, kept as floats.
template <int C>
void resample_row(const unsigned char* in, int in_w, const Taps& across, int width, float* row) {
  for (int x = 0; x < width; ++x) {
    const float* w = &across.weights[static_cast<std::size_t>(x) * static_cast<std::size_t>(across.width)];
    const int first = across.first[static_cast<std::size_t>(x)], n = std::min(across.width, in_w - first);
    const unsigned char* p = in + static_cast<std::size_t>(first) * C;
    float sum[C] = {};
    for (int i = 0; i < n; ++i, p += C)
      for (int k = 0; k < C; ++k) sum[k] += w[i] * p[k];
    for (int k = 0; k < C; ++k) row[static_cast<std::size_t>(x) * C + static_cast<std::size_t>(k)] = sum[k];
  }
}

// Resamples `c`-channel pixels (rows of `stride` bytes) to width x height, written channel-major
// to `out`: rows first, then columns, each output row summed over whole input rows at a time.
void resample(const unsigned char* source, int in_w, int in_h, std::size_t stride, int c, int width, int height,
              std::uint8_t* out) {
  thread_local std::vector<float> rows, sum;
  const Taps across = taps(in_w, width), down = taps(in_h, height);
  const std::size_t cw = static_cast<std::size_t>(width) * static_cast<std::size_t>(c);
  rows.resize(static_cast<std::size_t>(in_h) * cw);
  for (int y = 0; y < in_h; ++y) {
    const unsigned char* in = source + static_cast<std::size_t>(y) * stride;
    float* row = &rows[static_cast<std::size_t>(y) * cw];
    if (c == 1) resample_row<1>(in, in_w, across, width, row);
    else resample_row<3>(in, in_w, across, width, row);
  }
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  sum.resize(cw);
  for (int y = 0; y < height; ++y) {
    const float* w = &down.weights[static_cast<std::size_t>(y) * static_cast<std::size_t>(down.width)];
    const int first = down.first[static_cast<std::size_t>(y)], n = std::min(down.width, in_h - first);
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (int i = 0; i < n; ++i) {
      const float weight = w[i], *row = &rows[static_cast<std::size_t>(first + i) * cw];
      for (std::size_t xk = 0; xk < cw; ++xk) sum[xk] += weight * row[xk];
    }
    for (std::size_t x = 0; x < static_cast<std::size_t>(width); ++x)
      for (std::size_t k = 0; k < static_cast<std::size_t>(c); ++k)  // weights are >= 0: +0.5 rounds
        out[k * plane + static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + x] =
            static_cast<std::uint8_t>(std::min(255.0f, sum[x * static_cast<std::size_t>(c) + k] + 0.5f));
  }
}

}  // namespace

std::vector<unsigned char> read_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) throw BadImage(std::string("cannot open: ") + std::strerror(errno));
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<unsigned char> bytes(size);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    throw BadImage("cannot read the file");
  if (bytes.empty()) throw BadImage("the file is empty");
  return bytes;
}

ImageHeader read_header(const std::vector<unsigned char>& bytes) {
  Pixels none;
  return decode(bytes, true, false, 0, 0, none);
}

void decode_fitted(const std::vector<unsigned char>& bytes, int channels, int height, int width, std::uint8_t* out) {
  thread_local Pixels pixels;
  decode(bytes, false, channels == 1, height, width, pixels);
  convert(pixels, channels);
  // Scale so the image covers height x width, then keep the centre: the crop is taken in the
  // source and resized once.
  const double scale = std::max(static_cast<double>(height) / pixels.height, static_cast<double>(width) / pixels.width);
  const int crop_w = std::clamp(static_cast<int>(std::lround(width / scale)), 1, pixels.width);
  const int crop_h = std::clamp(static_cast<int>(std::lround(height / scale)), 1, pixels.height);
  const std::size_t c = static_cast<std::size_t>(channels), source_stride = static_cast<std::size_t>(pixels.width) * c;
  const unsigned char* origin = pixels.data.data() + static_cast<std::size_t>((pixels.height - crop_h) / 2) * source_stride +
                                static_cast<std::size_t>((pixels.width - crop_w) / 2) * c;
  if (crop_w != width || crop_h != height) return resample(origin, crop_w, crop_h, source_stride, channels, width, height, out);
  const std::size_t plane = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  for (std::size_t y = 0; y < static_cast<std::size_t>(height); ++y) {
    const unsigned char* row = origin + y * source_stride;
    for (std::size_t x = 0; x < static_cast<std::size_t>(width); ++x)
      for (std::size_t k = 0; k < c; ++k) out[k * plane + y * static_cast<std::size_t>(width) + x] = row[x * c + k];
  }
}

}  // namespace lepton::images
