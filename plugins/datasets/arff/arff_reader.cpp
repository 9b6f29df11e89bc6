// A small ARFF parser: tokens are split at top-level separators, honouring quotes and escapes.
#include "arff_reader.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>

namespace lepton::arff {

namespace {

struct Field {
  std::string text;
  bool quoted = false;
};

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Splits `text` at `separator` outside quotes; quoted fields lose their quotes and escapes.
std::vector<Field> split_fields(const std::string& text, char separator, const std::string& where) {
  std::vector<Field> out;
  Field current;
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '\'' || c == '"') && trim(current.text).empty() && !current.quoted) {
      const char quote = c;
      std::string value;
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != quote; ++j) {
        if (text[j] == '\\' && j + 1 < text.size()) ++j;
        value += text[j];
      }
      if (j >= text.size()) throw std::runtime_error(where + ": unterminated quote");
      current.text = value;
      current.quoted = true;
      any = true;
      i = j;
      continue;
    }
    if (c == separator) {
      if (!current.quoted) current.text = trim(current.text);
      out.push_back(current);
      current = Field{};
      any = false;
      continue;
    }
    if (current.quoted) {
      if (!std::isspace(static_cast<unsigned char>(c))) throw std::runtime_error(where + ": text after a quoted value");
      continue;
    }
    current.text += c;
    any = true;
  }
  if (any || !out.empty()) {
    if (!current.quoted) current.text = trim(current.text);
    out.push_back(current);
  }
  return out;
}

// The next token of a header line (a name, possibly quoted), and the rest of the line.
std::pair<std::string, std::string> next_token(const std::string& text, const std::string& where) {
  const std::string s = trim(text);
  if (s.empty()) throw std::runtime_error(where + ": expected a name");
  if (s[0] == '\'' || s[0] == '"') {
    const auto end = s.find(s[0], 1);
    if (end == std::string::npos) throw std::runtime_error(where + ": unterminated quote");
    return {s.substr(1, end - 1), s.substr(end + 1)};
  }
  const auto end = s.find_first_of(" \t{");
  return end == std::string::npos ? std::make_pair(s, std::string()) : std::make_pair(s.substr(0, end), s.substr(end));
}

Attribute parse_attribute(const std::string& rest, const std::string& where) {
  Attribute a;
  auto [name, type_text] = next_token(rest, where);
  a.name = name;
  const std::string type = trim(type_text);
  const std::string t = lower(type);
  if (!type.empty() && type.front() == '{') {
    const auto close = type.rfind('}');
    if (close == std::string::npos) throw std::runtime_error(where + ": nominal values need a closing '}'");
    a.type = Attribute::Type::kNominal;
    for (const auto& f : split_fields(type.substr(1, close - 1), ',', where)) a.values.push_back(f.text);
    if (a.values.empty()) throw std::runtime_error(where + ": attribute \"" + a.name + "\" has no nominal values");
  } else if (t == "numeric" || t == "real" || t == "integer") {
    a.type = Attribute::Type::kNumeric;
  } else if (t == "string") {
    a.type = Attribute::Type::kString;
  } else if (t.rfind("date", 0) == 0) {
    a.type = Attribute::Type::kDate;
  } else {
    throw std::runtime_error(where + ": attribute \"" + a.name + "\" has unsupported type \"" + type + "\"");
  }
  return a;
}

}  // namespace

File read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  File file;
  std::string line;
  std::size_t number = 0;
  bool data = false;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number);
    const std::string text = trim(line);
    if (text.empty() || text[0] == '%') continue;
    if (!data) {
      if (text[0] != '@') throw std::runtime_error(where + ": expected @relation, @attribute or @data");
      const auto space = text.find_first_of(" \t");
      const std::string keyword = lower(text.substr(0, space));
      const std::string rest = space == std::string::npos ? "" : text.substr(space);
      if (keyword == "@relation") {
        file.relation = next_token(rest, where).first;
      } else if (keyword == "@attribute") {
        file.attributes.push_back(parse_attribute(rest, where));
      } else if (keyword == "@data") {
        if (file.attributes.empty()) throw std::runtime_error(where + ": @data before any @attribute");
        data = true;
      } else {
        throw std::runtime_error(where + ": unknown keyword " + keyword);
      }
      continue;
    }
    Row row;
    row.line = number;
    const std::size_t n = file.attributes.size();
    if (text[0] == '{') {  // sparse: {index value, ...}; absent numeric values are 0, nominal the first value
      const auto close = text.rfind('}');
      if (close == std::string::npos) throw std::runtime_error(where + ": sparse row needs a closing '}'");
      row.cells.resize(n);
      for (std::size_t i = 0; i < n; ++i)
        row.cells[i] = file.attributes[i].type == Attribute::Type::kNominal ? file.attributes[i].values.front() : "0";
      for (const auto& pair : split_fields(text.substr(1, close - 1), ',', where)) {
        const auto gap = pair.text.find_first_of(" \t");
        if (gap == std::string::npos) throw std::runtime_error(where + ": sparse entry \"" + pair.text + "\" needs an index and a value");
        std::size_t index = 0;
        try {
          index = std::stoul(pair.text.substr(0, gap));
        } catch (const std::exception&) {
          throw std::runtime_error(where + ": sparse index \"" + pair.text.substr(0, gap) + "\" is not a number");
        }
        if (index >= n) throw std::runtime_error(where + ": sparse index " + std::to_string(index) + " >= " + std::to_string(n) + " attributes");
        const auto value = split_fields(pair.text.substr(gap), ',', where).front();
        row.cells[index] = (!value.quoted && value.text == "?") ? std::nullopt : std::optional<std::string>(value.text);
      }
    } else {
      const auto fields = split_fields(text, ',', where);
      if (fields.size() != n)
        throw std::runtime_error(where + ": " + std::to_string(fields.size()) + " values, but the header declares " +
                                 std::to_string(n) + " attributes");
      for (const auto& f : fields)
        row.cells.push_back((!f.quoted && f.text == "?") ? std::nullopt : std::optional<std::string>(f.text));
    }
    file.rows.push_back(std::move(row));
  }
  if (!data) throw std::runtime_error(path + ": no @data section");
  return file;
}

}  // namespace lepton::arff
