// Reading a dataset's "path" as one file or separate files, and splitting rows across them.
#include "data_files.hpp"

#include <tuple>

namespace lepton::data_files {

DataFiles DataFiles::read(const ConfigObject& dataset, const std::vector<std::string>& search_dirs) {
  DataFiles f;
  if (!dataset.raw("path").is_object()) {
    f.train_path = dataset.path_of("path");
    f.train = resolve_data_file(dataset.required<std::string>("path"), search_dirs, f.train_path);
    return f;
  }
  ConfigObject files = dataset.object("path");
  auto file = [&](const char* key, std::string& path) {
    path = files.path_of(key);
    return files.has(key) ? resolve_data_file(files.required<std::string>(key), search_dirs, path) : std::string();
  };
  f.train = file("train", f.train_path);
  f.valid = file("valid", f.valid_path);
  f.test = file("test", f.test_path);
  files.finish();
  if (f.train.empty()) throw ConfigError(files.path(), "expected at least {\"train\": FILE}, with \"valid\" and \"test\" optional");
  return f;
}

json DataFiles::describe() const {
  if (!separate()) return train;
  return {{"train", train}, {"valid", valid}, {"test", test}};
}

std::array<std::vector<std::int64_t>, 3> split_files(const std::vector<std::int64_t>& labels, std::int64_t classes,
                                                     const SplitOptions& split, const DataFiles& files,
                                                     std::int64_t n_train, std::int64_t n_valid, std::int64_t n_test) {
  SplitOptions from_train = split;
  if (!files.valid.empty()) from_train.valid = 0;
  if (!files.test.empty()) from_train.test = 0;
  auto parts = split_rows({labels.begin(), labels.begin() + n_train}, classes, from_train);
  std::int64_t next = n_train;
  for (const auto& [given, part, rows] : {std::tuple{!files.valid.empty(), 1, n_valid}, {!files.test.empty(), 2, n_test}}) {
    if (!given) continue;
    auto& rows_of_part = parts[static_cast<std::size_t>(part)];
    rows_of_part.clear();
    for (std::int64_t r = 0; r < rows; ++r) rows_of_part.push_back(next++);
  }
  return parts;
}

}  // namespace lepton::data_files
