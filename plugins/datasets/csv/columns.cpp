// Column typing, encoding and imputation for the csv plugin.
#include "columns.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <cctype>
#include <cmath>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace lepton::csv {

namespace {

std::string lower_trimmed(const std::string& s) {
  std::size_t begin = 0, end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  std::string out = s.substr(begin, end - begin);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A column of text is free text or an ID when nearly every present value is its own: more than
// half distinct, and more than 20 values (a small table's few categories can all be distinct).
constexpr double kDistinctShare = 0.5;
constexpr std::size_t kMinFreeTextValues = 20;

// Sorts category values as numbers when all of them are ("1" < "2" < "10"), else as text.
void sort_categories(std::vector<std::string>& values) {
  double ignored;
  const bool numeric =
      std::all_of(values.begin(), values.end(), [&](const std::string& v) { return parse_number(v, ignored); });
  if (numeric)
    std::sort(values.begin(), values.end(), [](const std::string& a, const std::string& b) { return std::stod(a) < std::stod(b); });
  else
    std::sort(values.begin(), values.end());
}

}  // namespace

MissingCells::MissingCells(std::vector<std::string> tokens) {
  for (auto& t : tokens) tokens_.push_back(lower_trimmed(t));
}

bool MissingCells::operator()(const std::string& cell) const {
  // Called for every cell: plain ASCII folding, no locale calls, length first.
  std::size_t begin = 0, end = cell.size();
  while (begin < end && (cell[begin] == ' ' || cell[begin] == '\t')) ++begin;
  while (end > begin && (cell[end - 1] == ' ' || cell[end - 1] == '\t' || cell[end - 1] == '\r')) --end;
  for (const auto& token : tokens_) {
    if (token.size() != end - begin) continue;
    std::size_t k = 0;
    for (; k < token.size(); ++k) {
      const char c = cell[begin + k];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c) != token[k]) break;
    }
    if (k == token.size()) return true;
  }
  return false;
}

namespace {

// What one column became: a feature, or a notice saying why it was left out (neither: dropped).
struct ColumnOutcome {
  std::optional<PlannedColumn> column;
  std::string notice;
  std::exception_ptr error;
};

ColumnOutcome plan_column(const std::string& name, std::size_t source, const std::vector<const std::vector<Row>*>& tables,
                          const MissingCells& missing, const ColumnOptions& options) {
  ColumnOutcome outcome;
  const auto forced = options.types.find(name);
  const std::string wanted = forced == options.types.end() ? "auto" : forced->second;
  if (wanted == "drop") return outcome;
  // One pass for what decides the type; the distinct values only for columns that need them.
  std::size_t present = 0, missing_cells = 0, numbers = 0;
  bool counts_up = true;  // integers 1, 2, 3, ... (or from any start): a row ID
  double previous = NAN;
  const Row* first_text = nullptr;
  for (const auto* rows : tables)
    for (const auto& row : *rows) {
      const std::string& cell = row.cells[source];
      if (missing(cell)) {
        ++missing_cells;
        counts_up = false;
        continue;
      }
      ++present;
      double v;
      if (parse_number(cell, v)) {
        ++numbers;
        counts_up = counts_up && std::floor(v) == v && (std::isnan(previous) || v == previous + 1);
        previous = v;
      } else {
        counts_up = false;
        if (!first_text) first_text = &row;
      }
    }
  std::unordered_set<std::string_view> distinct;
  distinct.reserve(std::min<std::size_t>(present, 1 << 16));
  if (wanted == "categorical" || (wanted == "auto" && numbers < present))
    for (const auto* rows : tables)
      for (const auto& row : *rows)
        if (!missing(row.cells[source])) distinct.insert(row.cells[source]);
  PlannedColumn column;
  column.name = name;
  column.source = source;
  column.indicator = options.missing_indicators && missing_cells > 0;
  const bool numeric = present > 0 && numbers == present;
  if (wanted == "numeric") {
    if (first_text)
      throw ConfigError(options.types_path + "." + name,
                        "column \"" + name + "\" is declared numeric, but line " + std::to_string(first_text->line) +
                            " holds \"" + first_text->cells[source] + "\"; declare it \"categorical\", or list \"" +
                            first_text->cells[source] + "\" in \"missing\"");
  } else if (wanted == "auto" && present == 0) {
    outcome.notice = "column \"" + name + "\" is empty: left out";
    return outcome;
  } else if (wanted == "auto" && numeric && counts_up && present > kMinFreeTextValues) {
    outcome.notice = "column \"" + name + "\" counts up by one (a row ID): left out; keep it with \"types\": {\"" +
                     name + "\": \"numeric\"}";
    return outcome;
  } else if (wanted == "categorical" || !numeric) {
    if (wanted == "auto" && distinct.size() > kMinFreeTextValues &&
        static_cast<double>(distinct.size()) > kDistinctShare * static_cast<double>(present)) {
      outcome.notice = "column \"" + name + "\" looks like free text or an ID (" + std::to_string(distinct.size()) +
                       " distinct values in " + std::to_string(present) + " rows): left out; keep it with "
                       "\"types\": {\"" + name + "\": \"categorical\"}";
      return outcome;
    }
    column.type = ColumnType::kCategorical;
    for (const auto value : distinct) column.categories.emplace_back(value);
    sort_categories(column.categories);
  }
  outcome.column = std::move(column);
  return outcome;
}

}  // namespace

ColumnPlan plan_columns(const std::vector<std::string>& names, const std::vector<std::size_t>& sources,
                        const std::vector<const std::vector<Row>*>& tables, const MissingCells& missing,
                        const ColumnOptions& options) {
  for (const auto& [name, type] : options.types)
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw unknown_name_error(options.types_path + "." + name, "column", name, names);
  // Columns are independent: one task each, put back in the file's order (errors too).
  std::vector<ColumnOutcome> outcomes(sources.size());
  tbb::parallel_for(std::size_t{0}, sources.size(), [&](std::size_t k) {
    try {
      outcomes[k] = plan_column(names[sources[k]], sources[k], tables, missing, options);
    } catch (...) {
      outcomes[k].error = std::current_exception();
    }
  });
  ColumnPlan plan;
  for (auto& outcome : outcomes) {
    if (outcome.error) std::rethrow_exception(outcome.error);
    if (!outcome.notice.empty()) plan.notices.push_back(std::move(outcome.notice));
    if (outcome.column) plan.columns.push_back(std::move(*outcome.column));
  }
  return plan;
}

at::Tensor ColumnPlan::encode(const std::vector<Row>& rows, const MissingCells& missing, const std::string& file_name,
                              const std::string& path, std::int64_t* unseen) const {
  const auto n = static_cast<std::int64_t>(rows.size());
  const std::int64_t d = width();
  auto x = torch::empty({n, d}, torch::kFloat32);
  float* xp = x.data_ptr<float>();
  std::vector<std::unordered_map<std::string, float>> index(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c)
    for (std::size_t k = 0; k < columns[c].categories.size(); ++k)
      index[c][columns[c].categories[k]] = static_cast<float>(k);
  // Rows are independent: blocks of them in parallel. A cell that is not a number marks its row,
  // and the first such row is reported after, so the message does not depend on timing.
  std::atomic<std::int64_t> unseen_cells{0};
  std::vector<char> bad(static_cast<std::size_t>(n), 0);
  tbb::parallel_for(tbb::blocked_range<std::int64_t>(0, n, 2048), [&](const tbb::blocked_range<std::int64_t>& block) {
    std::int64_t block_unseen = 0;
    for (std::int64_t r = block.begin(); r < block.end(); ++r) {
      const Row& row = rows[static_cast<std::size_t>(r)];
      float* out = xp + r * d;
      std::int64_t indicator_at = static_cast<std::int64_t>(columns.size());  // indicators follow the columns
      for (std::size_t c = 0; c < columns.size(); ++c) {
        const PlannedColumn& column = columns[c];
        const std::string& cell = row.cells[column.source];
        const bool absent = missing(cell);
        if (column.indicator) out[indicator_at++] = absent ? 1.0f : 0.0f;
        float value = NAN;
        if (!absent) {
          if (column.type == ColumnType::kCategorical) {
            const auto it = index[c].find(cell);
            if (it != index[c].end()) value = it->second;
            else ++block_unseen;  // a category training never saw: filled like a missing one
          } else {
            double v;
            if (parse_number(cell, v)) value = static_cast<float>(v);
            else bad[static_cast<std::size_t>(r)] = 1;
          }
        }
        out[c] = value;
      }
    }
    unseen_cells += block_unseen;
  });
  if (unseen) *unseen += unseen_cells;
  const auto first_bad = std::find(bad.begin(), bad.end(), 1);
  if (first_bad != bad.end()) {
    const Row& row = rows[static_cast<std::size_t>(first_bad - bad.begin())];
    for (const auto& column : columns) {
      double v;
      const std::string& cell = row.cells[column.source];
      if (column.type == ColumnType::kNumeric && !missing(cell) && !parse_number(cell, v))
        throw ConfigError(path, file_name + ":" + std::to_string(row.line) + ", column \"" + column.name +
                                    "\": not a number: \"" + cell + "\" (the column was read as numeric)");
    }
  }
  return x;
}

void ColumnPlan::fit_fills(const at::Tensor& train_x, const ColumnOptions& options) {
  const auto x = train_x.contiguous();
  const float* xp = x.data_ptr<float>();
  const auto n = x.size(0), d = x.size(1);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    std::vector<float> present;
    present.reserve(static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < n; ++r)
      if (const float v = xp[r * d + static_cast<std::int64_t>(c)]; !std::isnan(v)) present.push_back(v);
    PlannedColumn& column = columns[c];
    if (present.empty()) {
      column.fill = 0.0f;
    } else if (column.type == ColumnType::kCategorical) {  // the most frequent, the first on ties
      std::vector<std::int64_t> counts(column.categories.size(), 0);
      for (const float v : present) ++counts[static_cast<std::size_t>(v)];
      column.fill = static_cast<float>(std::max_element(counts.begin(), counts.end()) - counts.begin());
    } else if (options.impute == "mean") {
      double sum = 0;
      for (const float v : present) sum += v;
      column.fill = static_cast<float>(sum / static_cast<double>(present.size()));
    } else {  // the median; the lower middle value for an even count
      const auto middle = present.begin() + static_cast<std::ptrdiff_t>((present.size() - 1) / 2);
      std::nth_element(present.begin(), middle, present.end());
      column.fill = *middle;
    }
  }
}

at::Tensor ColumnPlan::filled(const at::Tensor& x) const {
  std::vector<float> fills(static_cast<std::size_t>(width()), 0.0f);
  for (std::size_t c = 0; c < columns.size(); ++c) fills[c] = columns[c].fill;
  const auto fill = torch::tensor(fills, torch::kFloat32);
  return torch::where(torch::isnan(x), fill.expand_as(x), x).contiguous();
}

std::vector<std::string> ColumnPlan::feature_names() const {
  std::vector<std::string> out;
  for (const auto& c : columns) out.push_back(c.name);
  for (const auto& c : columns)
    if (c.indicator) out.push_back(c.name + "_missing");
  return out;
}

std::vector<CategoricalColumn> ColumnPlan::categorical() const {
  std::vector<CategoricalColumn> out;
  for (std::size_t c = 0; c < columns.size(); ++c)
    if (columns[c].type == ColumnType::kCategorical) out.push_back({static_cast<std::int64_t>(c), columns[c].categories});
  return out;
}

std::vector<bool> ColumnPlan::scalable() const {
  std::vector<bool> out(static_cast<std::size_t>(width()), false);
  for (std::size_t c = 0; c < columns.size(); ++c) out[c] = columns[c].type == ColumnType::kNumeric;
  return out;
}

std::int64_t ColumnPlan::width() const {
  const auto indicators = std::count_if(columns.begin(), columns.end(), [](const PlannedColumn& c) { return c.indicator; });
  return static_cast<std::int64_t>(columns.size()) + indicators;
}

json ColumnPlan::to_json() const {
  json out = json::array();
  for (const auto& c : columns) {
    json j = {{"name", c.name}, {"source", c.source}, {"fill", c.fill}, {"indicator", c.indicator},
              {"type", c.type == ColumnType::kCategorical ? "categorical" : "numeric"}};
    if (c.type == ColumnType::kCategorical) j["categories"] = c.categories;
    out.push_back(std::move(j));
  }
  return out;
}

ColumnPlan ColumnPlan::from_json(const json& j, const std::string& path) {
  if (!j.is_array()) throw ConfigError(path, "expected the csv plugin's column plan (an array); export the model again");
  ColumnPlan plan;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string at = path + "[" + std::to_string(i) + "]";
    try {
      PlannedColumn c;
      c.name = j[i].at("name").get<std::string>();
      c.source = j[i].at("source").get<std::size_t>();
      c.fill = j[i].at("fill").get<float>();
      c.indicator = j[i].at("indicator").get<bool>();
      c.type = j[i].at("type").get<std::string>() == "categorical" ? ColumnType::kCategorical : ColumnType::kNumeric;
      if (c.type == ColumnType::kCategorical) c.categories = j[i].at("categories").get<std::vector<std::string>>();
      plan.columns.push_back(std::move(c));
    } catch (const json::exception& e) {
      throw ConfigError(at, std::string("a column of the csv plugin's plan is malformed: ") + e.what());
    }
  }
  return plan;
}

}  // namespace lepton::csv
