// Delimited-text reading through zlib, which reads plain files as they are.
#include "csv_reader.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <zlib.h>

#include <algorithm>

#include <cerrno>
#include <charconv>
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

// Where each row starts, and the line it starts on: one serial pass that knows which line breaks
// sit inside quoted fields. A quote opens a field only at its start (spaces aside); elsewhere it is
// text (12"). Without any quote in the file, rows simply end at line breaks.
struct RowStarts {
  std::vector<std::size_t> offset, line;
};

RowStarts find_rows(const std::string& text, char delimiter, const std::string& file) {
  RowStarts starts;
  starts.offset.push_back(0);
  starts.line.push_back(1);
  std::size_t line = 1;
  if (text.find('"') == std::string::npos) {
    for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 1)) {
      starts.offset.push_back(at + 1);
      starts.line.push_back(++line);
    }
    return starts;
  }
  bool quoted = false, field_blank = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') ++i;
      else if (c == '"') quoted = false;
      else if (c == '\n') ++line;
    } else if (c == '\n') {
      starts.offset.push_back(i + 1);
      starts.line.push_back(++line);
      field_blank = true;
    } else if (c == delimiter) {
      field_blank = true;
    } else if (c == '"' && field_blank) {
      quoted = true;
      field_blank = false;
    } else if (c != ' ' && c != '\t') {
      field_blank = false;
    }
  }
  if (quoted) throw std::runtime_error(file + ":" + std::to_string(starts.line.back()) + ": a quoted field is not closed");
  return starts;
}

// The cells of the row in text[begin, end), its line break left out. A blank row has no cells.
Row parse_row(const std::string& text, std::size_t begin, std::size_t end, std::size_t line, char delimiter,
              std::size_t width) {
  Row row{line, {}};
  row.cells.reserve(width);
  std::string cell;
  bool quoted = false, had_quotes = false;
  for (std::size_t i = begin; i < end; ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < end && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"' && cell.find_first_not_of(" \t") == std::string::npos) {
      quoted = had_quotes = true;
    } else if (c == delimiter) {
      push_trimmed(row.cells, cell);
      cell.clear();
    } else {
      std::size_t run = i + 1;  // the ordinary characters that follow, appended at once
      while (run < end && text[run] != delimiter && text[run] != '"') ++run;
      cell.append(text, i, run - i);
      i = run - 1;
    }
  }
  push_trimmed(row.cells, cell);
  if (row.cells.size() == 1 && row.cells[0].empty() && !had_quotes) row.cells.clear();
  return row;
}

}  // namespace

// RFC 4180: a field that starts with a quote may hold the delimiter, doubled quotes and line
// breaks. Rows are found serially, then split into cells in parallel.
std::vector<Row> read_rows(const std::string& file, char delimiter) {
  const std::string text = read_all(file);
  const RowStarts starts = find_rows(text, delimiter, file);
  const std::size_t n = starts.offset.size();
  std::vector<Row> rows(n);
  // Cells per row, from the first row: each row's cells are allocated once.
  const std::size_t width =
      parse_row(text, 0, n > 1 ? starts.offset[1] - 1 : text.size(), 1, delimiter, 0).cells.size();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1024), [&](const tbb::blocked_range<std::size_t>& block) {
    for (std::size_t k = block.begin(); k < block.end(); ++k) {
      const std::size_t end = k + 1 < n ? starts.offset[k + 1] - 1 : text.size();
      rows[k] = parse_row(text, starts.offset[k], end, starts.line[k], delimiter, width);
    }
  });
  rows.erase(std::remove_if(rows.begin(), rows.end(), [](const Row& r) { return r.cells.empty(); }), rows.end());
  return rows;
}

bool parse_number(const std::string& cell, double& out) {
  if (cell.empty()) return false;
  const char* end = cell.data() + cell.size();
  const auto [stop, error] = std::from_chars(cell.data(), end, out);  // several times faster than strtod
  if (error == std::errc() && stop == end) return std::isfinite(out);
  if (cell[0] != '+' && cell[0] != ' ' && error != std::errc::result_out_of_range) return false;
  char* parsed = nullptr;  // what from_chars leaves to strtod: a leading '+' or space, and out-of-range values
  errno = 0;
  out = std::strtod(cell.c_str(), &parsed);
  return parsed == end && errno != ERANGE && std::isfinite(out);
}

}  // namespace lepton::csv
