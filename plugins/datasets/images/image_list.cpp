// Listing image folders and manifests.
#include "image_list.hpp"

#include "../csv/csv_reader.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace lepton::images {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool hidden(const fs::path& p) { return !p.filename().empty() && p.filename().string()[0] == '.'; }

// Every image under `folder`, recursively, named relative to `base`; other files go to `ignored`.
void collect(const fs::path& folder, const fs::path& base, const std::string& label, ImageSource& out) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw std::runtime_error("cannot list " + folder.string() + ": " + ec.message());
    if (hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().lexically_relative(base).generic_string();
    if (is_image_name(it->path().string()))
      out.files.push_back({it->path().string(), name, label, -1});
    else
      out.ignored.push_back(name);
  }
}

std::vector<fs::path> subfolders(const fs::path& folder) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.is_directory(ec) && !hidden(entry.path())) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

ImageSource list_folder(const fs::path& folder) {
  ImageSource out;
  const auto classes = subfolders(folder);
  if (classes.empty()) {
    out.labelled = false;
    collect(folder, folder, "", out);
  } else {
    for (const auto& c : classes) collect(c, folder, c.filename().string(), out);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(folder, ec))  // loose files beside class folders
      if (entry.is_regular_file(ec) && !hidden(entry.path()))
        out.ignored.push_back(entry.path().filename().string() + " (beside the class folders)");
  }
  std::sort(out.files.begin(), out.files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (out.files.empty())
    throw std::runtime_error(folder.string() + " holds no images (.jpg, .jpeg, .png, .bmp, .gif, ...)" +
                             (classes.empty() ? std::string("; expected class folders: ") + folder.string() + "/<class>/*.jpg"
                                              : std::string(" in its folders ") + classes.front().filename().string() +
                                                    (classes.size() > 1 ? ", ..." : "")));
  return out;
}

int split_of(const std::string& cell, const std::string& where) {
  const std::string s = lower(cell);
  if (s == "train") return 0;
  if (s == "valid" || s == "val" || s == "validation") return 1;
  if (s == "test") return 2;
  throw std::runtime_error(where + ": split \"" + cell + "\" is not train, valid (or val) or test");
}

ImageSource list_manifest(const fs::path& file) {
  const auto rows = csv::read_rows(file.string(), ',');
  if (rows.empty()) throw std::runtime_error(file.string() + " is empty; expected a header path,label then one row per image");
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < rows[0].cells.size(); ++i) column[lower(rows[0].cells[i])] = i;
  if (!column.count("path"))
    throw std::runtime_error(file.string() + ": the header names no \"path\" column; expected path,label[,split]");
  ImageSource out;
  out.labelled = column.count("label") > 0;
  const fs::path base = file.parent_path();
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& cells = rows[r].cells;
    const std::string where = file.string() + ":" + std::to_string(rows[r].line);
    auto cell = [&](const std::string& name) -> std::string {
      const std::size_t at = column.at(name);
      if (at >= cells.size()) throw std::runtime_error(where + ": the row has no " + name + " cell");
      return cells[at];
    };
    ImageFile f;
    f.name = cell("path");
    f.path = (fs::path(f.name).is_absolute() ? fs::path(f.name) : base / f.name).string();
    if (out.labelled && (f.label = cell("label")).empty())
      throw std::runtime_error(where + ": the label is empty");
    if (column.count("split")) f.split = split_of(cell("split"), where);
    out.files.push_back(std::move(f));
  }
  if (out.files.empty()) throw std::runtime_error(file.string() + " lists no images");
  return out;
}

}  // namespace

bool is_image_name(const std::string& file) {
  static const char* const kExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tga", ".psd", ".pgm", ".ppm", ".pnm"};
  const std::string ext = lower(fs::path(file).extension().string());
  return std::any_of(std::begin(kExtensions), std::end(kExtensions), [&](const char* e) { return ext == e; });
}

ImageSource list_images(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return list_folder(path);
  if (!fs::is_regular_file(path, ec)) throw std::runtime_error(path + " does not exist");
  if (lower(fs::path(path).extension().string()) == ".csv") return list_manifest(path);
  if (!is_image_name(path))
    throw std::runtime_error(path + " is neither a folder, a CSV manifest (.csv) nor an image (.jpg, .png, ...)");
  ImageSource out;
  out.labelled = false;
  out.files.push_back({path, fs::path(path).filename().string(), "", -1});
  return out;
}

SplitFolders split_folders(const std::string& root) {
  SplitFolders out;
  std::error_code ec;
  auto find = [&](std::initializer_list<const char*> names) -> std::string {
    for (const char* name : names)
      if (fs::is_directory(fs::path(root) / name, ec)) return (fs::path(root) / name).string();
    return "";
  };
  out.train = find({"train", "training"});
  out.valid = find({"val", "valid", "validation"});
  out.test = find({"test", "testing"});
  if (out.train.empty() || (out.valid.empty() && out.test.empty())) return {};
  return out;
}

}  // namespace lepton::images
