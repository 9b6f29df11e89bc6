// Reading delimited text (plain or gzip) into rows of cells, with line numbers for error messages.
#pragma once

#include <string>
#include <vector>

namespace lepton::csv {

struct Row {
  std::size_t line = 0;  ///< 1-based line number in the file
  std::vector<std::string> cells;
};

/// Reads every non-blank row of `file` (gzip-compressed or not). Quoted fields may hold the
/// delimiter, doubled quotes and line breaks. Throws std::runtime_error when the file cannot be read
/// or a quoted field is not closed.
std::vector<Row> read_rows(const std::string& file, char delimiter);

/// Parses a whole cell as a finite number.
bool parse_number(const std::string& cell, double& out);

}  // namespace lepton::csv
