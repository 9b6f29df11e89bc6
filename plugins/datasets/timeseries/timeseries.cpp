// The time-series dataset plugin: lagged features of a dated table and the direction of a column
// `horizon` steps ahead, split walk-forward (train, then valid, then test, with an embargo gap) so
// that no trial trains on anything later than what it is scored on.
#include "../csv/csv_reader.hpp"

#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;

struct Table {
  std::vector<std::string> names;
  std::vector<std::string> times;
  std::vector<std::vector<double>> columns;  // by column, then row (the time column stays empty)
  std::vector<std::size_t> lines;
};

std::size_t column_of(const Table& t, const std::string& name, const std::string& path) {
  const auto it = std::find(t.names.begin(), t.names.end(), name);
  if (it != t.names.end()) return static_cast<std::size_t>(it - t.names.begin());
  throw lepton::unknown_name_error(path, "column", name, t.names);
}

// Reads a table with a header line; every column but the time column must be numeric.
Table read_table(const std::string& file, const std::string& time_column, const std::string& path) {
  std::vector<lepton::csv::Row> rows;
  try {
    rows = lepton::csv::read_rows(file, ',');
  } catch (const std::exception& e) {
    throw ConfigError(path, e.what());
  }
  if (rows.size() < 3) throw ConfigError(path, file + " holds " + std::to_string(rows.size()) + " line(s); expected a header and rows");
  Table t;
  t.names = rows.front().cells;
  const std::size_t time = column_of(t, time_column, path.substr(0, path.rfind('.')) + ".time");
  t.columns.resize(t.names.size());
  const std::string name = std::filesystem::path(file).filename().string();
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (row.cells.size() != t.names.size())
      throw ConfigError(path, name + ":" + std::to_string(row.line) + ": " + std::to_string(row.cells.size()) +
                                  " fields, but the header has " + std::to_string(t.names.size()));
    if (!t.times.empty() && !(t.times.back() < row.cells[time]))
      throw ConfigError(path, name + ":" + std::to_string(row.line) + ": time \"" + row.cells[time] +
                                  "\" does not follow \"" + t.times.back() + "\"; rows must be in increasing time order");
    t.times.push_back(row.cells[time]);
    t.lines.push_back(row.line);
    for (std::size_t c = 0; c < t.names.size(); ++c) {
      if (c == time) continue;
      double v = std::nan("");  // missing or not a number: an error only if a feature or the target reads it
      if (!lepton::csv::parse_number(row.cells[c], v)) v = std::nan("");
      t.columns[c].push_back(v);
    }
  }
  return t;
}

enum class Transform { kValue, kLog, kDiff, kLogReturn, kPctChange, kLogRatio };

struct Feature {
  std::string label;        // for feature names, e.g. "close:log_return"
  std::size_t column = 0;
  std::size_t over = 0;     // log_ratio: the denominator column
  Transform transform = Transform::kLogReturn;
  int lags = 1;
  int lookback() const { return lags - 1 + (transform == Transform::kDiff || transform == Transform::kLogReturn ||
                                                    transform == Transform::kPctChange ? 1 : 0); }
};

double transformed(const Table& t, const Feature& f, std::size_t row) {
  const auto& v = t.columns[f.column];
  switch (f.transform) {
    case Transform::kValue: return v[row];
    case Transform::kLog: return std::log(v[row]);
    case Transform::kDiff: return v[row] - v[row - 1];
    case Transform::kLogReturn: return std::log(v[row] / v[row - 1]);
    case Transform::kPctChange: return v[row] / v[row - 1] - 1.0;
    case Transform::kLogRatio: return std::log(v[row] / t.columns[f.over][row]);
  }
  return std::nan("");
}

class TimeSeriesDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    const std::string file =
        lepton::resolve_data_file(cfg.required<std::string>("path"), request.search_dirs, cfg.path_of("path"));
    const std::string time_column = cfg.optional<std::string>("time", "date");
    const bool standardize = cfg.optional<bool>("standardize", true);
    const Table t = read_table(file, time_column, cfg.path_of("path"));
    const std::string file_name = std::filesystem::path(file).filename().string();

    ConfigObject target = cfg.object("target");
    const std::size_t target_column = column_of(t, target.required<std::string>("column"), target.path_of("column"));
    const int horizon = static_cast<int>(target.integer_in("horizon", 1, 1000, 1));
    const double threshold = target.number_in("threshold", -1.0, 1.0, 0.0);
    target.finish();

    std::vector<Feature> features;
    const json default_features = json::array({{{"column", t.names[target_column]}, {"transform", "log_return"}, {"lags", 10}}});
    const json feature_list = cfg.optional<json>("features", default_features);
    if (!feature_list.is_array() || feature_list.empty())
      throw ConfigError(cfg.path_of("features"), "expected an array of {\"column\", \"transform\", \"lags\"}");
    for (std::size_t i = 0; i < feature_list.size(); ++i) {
      ConfigObject f(feature_list[i], cfg.path_of("features") + "[" + std::to_string(i) + "]");
      Feature feature;
      const std::string column = f.required<std::string>("column");
      feature.column = column_of(t, column, f.path_of("column"));
      const std::string transform = f.one_of("transform", {"value", "log", "diff", "log_return", "pct_change", "log_ratio"},
                                             std::string("log_return"));
      feature.transform = transform == "value"        ? Transform::kValue
                          : transform == "log"        ? Transform::kLog
                          : transform == "diff"       ? Transform::kDiff
                          : transform == "pct_change" ? Transform::kPctChange
                          : transform == "log_ratio"  ? Transform::kLogRatio
                                                      : Transform::kLogReturn;
      if (feature.transform == Transform::kLogRatio) {
        const std::string over = f.required<std::string>("over");
        feature.over = column_of(t, over, f.path_of("over"));
        feature.label = column + "/" + over + ":log_ratio";
      } else {
        feature.label = column + ":" + transform;
      }
      feature.lags = static_cast<int>(f.integer_in("lags", 1, 250, 1));
      f.finish();
      features.push_back(feature);
    }

    double valid = 0.15, test = 0.15;
    int gap = horizon;
    std::int64_t window = 0;
    if (cfg.has("split")) {
      ConfigObject split = cfg.object("split");
      valid = split.number_in("valid", 0.01, 0.9, 0.15);
      test = split.number_in("test", 0.0, 0.9, 0.15);
      gap = static_cast<int>(split.integer_in("gap", horizon, 10000, horizon));
      window = split.integer_in("train_window", 0, INT64_MAX, 0);
      split.finish();
      if (valid + test >= 0.95)
        throw ConfigError(split.path(), "valid + test must leave samples to train on");
    }
    cfg.finish();

    // Sample t uses rows t - lookback .. t for its features and row t + horizon for its label.
    int lookback = 0;
    for (const auto& f : features) lookback = std::max(lookback, f.lookback());
    const auto rows = static_cast<std::int64_t>(t.times.size());
    const std::int64_t first = lookback, last = rows - 1 - horizon;
    const std::int64_t samples = last - first + 1;
    if (samples < 20) throw ConfigError(request.path, file_name + " leaves " + std::to_string(samples) + " samples after lags and horizon");
    std::int64_t width = 0;
    for (const auto& f : features) width += f.lags;
    auto x = torch::empty({samples, width}, torch::kFloat32);
    auto y = torch::empty({samples}, torch::kLong);
    auto outcome = torch::empty({samples}, torch::kFloat64);
    float* xp = x.data_ptr<float>();
    std::int64_t* yp = y.data_ptr<std::int64_t>();
    double* op = outcome.data_ptr<double>();
    for (std::int64_t s = 0; s < samples; ++s) {
      const auto now = static_cast<std::size_t>(first + s);
      std::int64_t c = 0;
      for (const auto& f : features)
        for (int lag = 0; lag < f.lags; ++lag) {
          const double v = transformed(t, f, now - static_cast<std::size_t>(lag));
          if (!std::isfinite(v))
            throw ConfigError(request.path, file_name + ":" + std::to_string(t.lines[now - static_cast<std::size_t>(lag)]) +
                                                ": " + f.label + " is not finite (missing, zero or negative values)");
          xp[s * width + c++] = static_cast<float>(v);
        }
      const double before = t.columns[target_column][now];
      const double after = t.columns[target_column][now + static_cast<std::size_t>(horizon)];
      if (!std::isfinite(before) || !std::isfinite(after) || before <= 0)
        throw ConfigError(request.path, file_name + ":" + std::to_string(t.lines[now]) + ": the target column \"" +
                                            t.names[target_column] + "\" needs positive numbers");
      yp[s] = after > before * (1.0 + threshold) ? 1 : 0;
      op[s] = std::log(after / before);
    }

    // Walk forward: train | gap | valid | gap | test, in time order.
    const auto n_test = static_cast<std::int64_t>(std::llround(static_cast<double>(samples) * test));
    const auto n_valid = static_cast<std::int64_t>(std::llround(static_cast<double>(samples) * valid));
    const std::int64_t gaps = gap * (n_test > 0 ? 2 : 1);
    std::int64_t train_end = samples - n_test - n_valid - gaps;
    if (train_end < 10) throw ConfigError(request.path + ".split", "only " + std::to_string(train_end) + " training samples remain");
    const std::int64_t train_begin = window > 0 ? std::max<std::int64_t>(0, train_end - window) : 0;
    const std::int64_t valid_begin = train_end + gap;
    const std::int64_t test_begin = valid_begin + n_valid + gap;
    lepton::DataSplits out;
    std::int64_t next_index = 0;
    auto range = [&](std::int64_t begin, std::int64_t end) {
      lepton::Split split;
      split.x = x.slice(0, begin, end).contiguous();
      split.y = y.slice(0, begin, end).contiguous();
      split.outcome = outcome.slice(0, begin, end).contiguous();
      split.index = torch::arange(next_index, next_index + (end - begin), torch::kLong);
      next_index += end - begin;
      return split;
    };
    out.train = range(train_begin, train_end);
    out.valid = range(valid_begin, valid_begin + n_valid);
    out.test = range(test_begin, test_begin + n_test);
    if (standardize) lepton::standardize(out);
    out.input_shape = {width};
    out.class_names = {"down", "up"};
    for (const auto& f : features)
      for (int lag = 0; lag < f.lags; ++lag) out.feature_names.push_back(f.label + "[t-" + std::to_string(lag) + "]");
    auto dates = [&](std::int64_t begin, std::int64_t end) {
      if (end <= begin) return json::array();
      return json::array({t.times[static_cast<std::size_t>(first + begin)], t.times[static_cast<std::size_t>(first + end - 1)]});
    };
    out.info = {{"file", file},
                {"rows", next_index},
                {"samples", samples},
                {"embargoed", gaps},
                {"outside_train_window", train_begin},
                {"horizon", horizon},
                {"features", width},
                {"up_fraction", y.to(torch::kFloat64).mean().item<double>()},
                {"dates", {{"train", dates(train_begin, train_end)},
                           {"valid", dates(valid_begin, valid_begin + n_valid)},
                           {"test", dates(test_begin, test_begin + n_test)}}}};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<TimeSeriesDataset>()); }
