// Plain-text tables for the terminal: aligned columns, numbers right-aligned.
#pragma once

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace lepton::engine {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);
  void add_row(std::vector<std::string> cells);
  bool empty() const noexcept { return rows_.empty(); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// A number with `digits` significant digits ("0.9737", "1.2e-05"); "-" for NaN.
std::string format_number(double value, int digits = 4);
/// A duration as "850 ms", "12.3 s", "4m05s", "2h03m".
std::string format_duration(double seconds);
/// A JSON scalar for a table cell: strings unquoted, numbers with format_number.
std::string format_value(const nlohmann::json& value);

}  // namespace lepton::engine
