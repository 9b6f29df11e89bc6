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

// Appends `cell` without its surrounding spaces, tabs and carriage returns.
void push_trimmed(std::vector<std::string>& cells, const std::string& cell) {
  const auto begin = cell.find_first_not_of(" \t\r");
  if (begin == std::string::npos) {
    cells.emplace_back();
    return;
  }
  cells.emplace_back(cell, begin, cell.find_last_not_of(" \t\r") - begin + 1);
}

}  // namespace

// One pass over the text (RFC 4180): a field that starts with a quote may hold the delimiter, doubled
// quotes and line breaks; a row is numbered by the line it starts on.
std::vector<Row> read_rows(const std::string& file, char delimiter) {
  const std::string text = read_all(file);
  std::vector<Row> rows;
  Row row{1, {}};
  std::string cell;
  bool quoted = false, had_quotes = false;
  std::size_t line = 1;
  auto end_row = [&] {
    push_trimmed(row.cells, cell);
    cell.clear();
    const bool blank = row.cells.size() == 1 && row.cells[0].empty() && !had_quotes;
    if (!blank) rows.push_back(std::move(row));
    row = Row{line + 1, {}};
    had_quotes = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        cell += c;
      }
    } else if (c == '"' && cell.find_first_not_of(" \t") == std::string::npos) {  // elsewhere a quote is text (12")
      quoted = had_quotes = true;
    } else if (c == delimiter) {
      push_trimmed(row.cells, cell);
      cell.clear();
    } else if (c == '\n') {
      end_row();
      ++line;
    } else {
      cell += c;
    }
  }
  if (quoted) throw std::runtime_error(file + ":" + std::to_string(row.line) + ": a quoted field is not closed");
  if (!cell.empty() || !row.cells.empty() || had_quotes) end_row();
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
