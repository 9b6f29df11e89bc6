// Delimited-text reading through zlib, which reads plain files as they are.
#include "csv_reader.hpp"

#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace lepton::csv {

namespace {

std::string read_all(const std::string& file) {
  gzFile in = gzopen(file.c_str(), "rb");
  if (!in) throw std::runtime_error("cannot open " + file + ": " + std::strerror(errno));
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(in, gzclose);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const int n = gzread(in, buffer, sizeof buffer);
    if (n < 0) {
      int code = 0;
      throw std::runtime_error("cannot read " + file + ": " + gzerror(in, &code));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string> split_line(const std::string& line, char delimiter) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == delimiter) {
      cells.push_back(trim(cell));
      cell.clear();
    } else {
      cell += c;
    }
  }
  cells.push_back(trim(cell));
  return cells;
}

}  // namespace

std::vector<Row> read_rows(const std::string& file, char delimiter) {
  const std::string text = read_all(file);
  std::vector<Row> rows;
  std::size_t line_number = 0, begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    const std::string line = text.substr(begin, end - begin);
    if (!trim(line).empty()) rows.push_back({line_number, split_line(line, delimiter)});
    begin = end + 1;
  }
  return rows;
}

bool parse_number(const std::string& cell, double& out) {
  if (cell.empty()) return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(cell.c_str(), &end);
  return end == cell.c_str() + cell.size() && errno != ERANGE && std::isfinite(out);
}

}  // namespace lepton::csv
