// Reading Weka's ARFF files: the header's typed attributes and the data rows, dense or sparse.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lepton::arff {

/// One attribute of the header.
struct Attribute {
  std::string name;
  enum class Type { kNumeric, kNominal, kString, kDate } type = Type::kNumeric;
  std::vector<std::string> values;  ///< nominal: the declared values, in order
};

/// A row's cells, one per attribute; nothing where the file has '?' (missing).
struct Row {
  std::size_t line = 0;
  std::vector<std::optional<std::string>> cells;
};

struct File {
  std::string relation;
  std::vector<Attribute> attributes;
  std::vector<Row> rows;
};

/// Parses an ARFF file (comments, quoted names and values, nominal sets, sparse rows). Throws
/// std::runtime_error naming the file and line of the first problem.
File read_file(const std::string& path);

}  // namespace lepton::arff
