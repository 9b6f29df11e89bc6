// Finding the images of a data set: class folders as torchvision's ImageFolder reads them, folders
// already split into train/val/test, CSV manifests, or one image.
#pragma once

#include <string>
#include <vector>

namespace lepton::images {

struct ImageFile {
  std::string path;   ///< the file
  std::string name;   ///< its path relative to the source, for messages and predictions
  std::string label;  ///< the class name; empty when the source has no labels
  int split = -1;     ///< a manifest's split column: 0 train, 1 valid, 2 test; -1 not given
};

struct ImageSource {
  std::vector<ImageFile> files;  ///< sorted by name, so a listing is the same on every file system
  std::vector<std::string> ignored;  ///< files skipped because their extension is not an image's
  bool labelled = true;
};

/// Whether the file name ends in an image extension Lepton decodes (.jpg, .jpeg, .png, .bmp, .gif,
/// .tga, .psd, .pgm, .ppm, .pnm; any case).
bool is_image_name(const std::string& file);

/// The images under `path`, which is one of:
/// - a folder of class folders, `path/<class>/**/<image>` (the class is the first folder);
/// - a folder of images with no class folders (unlabelled);
/// - a CSV manifest with a header naming `path` (relative to the manifest's folder) and `label`
///   columns, and optionally `split` (train, valid or val, test);
/// - one image file (unlabelled).
/// Throws std::runtime_error naming what was found instead.
ImageSource list_images(const std::string& path);

/// For a folder holding `train/` and at least one of `val/`, `valid/`, `validation/` or `test/`:
/// those folders (empty strings for the ones absent). All empty when the folder is not split.
struct SplitFolders {
  std::string train, valid, test;
};
SplitFolders split_folders(const std::string& root);

}  // namespace lepton::images
