// Dataset checks: shapes and types, split sizes, disjoint splits, labels in range, determinism.
#include "conformance/check_list.hpp"

#include <torch/torch.h>

#include <functional>
#include <numeric>
#include <unordered_map>

namespace lepton::engine::conformance {

namespace {

using SplitRef = std::pair<const char*, const Split*>;

std::vector<SplitRef> splits_of(const DataSplits& d) {
  return {{"train", &d.train}, {"valid", &d.valid}, {"test", &d.test}};
}

// Content hash of each sample (features and label), for data without Split::index.
std::vector<std::size_t> sample_hashes(const Split& split) {
  std::vector<std::size_t> out;
  if (split.size() == 0) return out;
  const auto x = split.x.reshape({split.size(), -1}).contiguous().to(torch::kFloat32);
  const auto y = split.y.contiguous();
  const auto width = x.size(1);
  const float* xp = x.data_ptr<float>();
  const std::int64_t* yp = y.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < split.size(); ++i) {
    const std::string bytes(reinterpret_cast<const char*>(xp + i * width), static_cast<std::size_t>(width) * sizeof(float));
    out.push_back(std::hash<std::string>{}(bytes) ^ (static_cast<std::size_t>(yp[i]) * 0x9e3779b97f4a7c15ULL));
  }
  return out;
}

bool same_tensor(const at::Tensor& a, const at::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || (a.sizes().equals(b.sizes()) && a.dtype() == b.dtype() && torch::equal(a, b));
}

}  // namespace

std::vector<CheckResult> check_dataset(const Dataset& dataset, const json& settings,
                                       const std::vector<std::string>& data_dirs) {
  ConfigObject cfg(settings, "conformance");
  const bool has_config = cfg.has("config");
  const json config = cfg.optional<json>("config", json::object());
  cfg.finish();
  auto load = [&](const json& c) {
    DatasetRequest request;
    request.config = c;
    request.search_dirs = data_dirs;
    return dataset.load(request);
  };

  CheckList list;
  DataSplits data;
  const bool loads = list.run("loads its example configuration", [&] {
    try {
      data = load(config);
    } catch (const ConfigError& e) {
      if (!has_config)
        throw CheckFailure(std::string(e.what()) + " (no example configuration: add \"conformance\": {\"config\": {...}} "
                                                   "to the manifest, or pass --config)");
      throw;
    }
    return "dataset " + config.dump() + ": " + std::to_string(data.train.size()) + " train, " +
           std::to_string(data.valid.size()) + " valid, " + std::to_string(data.test.size()) + " test";
  });
  if (!loads) {
    list.skip({"tensor shapes and types", "split sizes add up", "no overlap between splits", "labels in range",
               "features finite", "deterministic for a seed", "rejects unknown options"},
              "the dataset does not load");
    return list.take();
  }
  const auto classes = static_cast<std::int64_t>(data.class_names.size());
  list.run("tensor shapes and types", [&] {
    expect(classes >= 2, std::to_string(classes) + " class name(s); classification needs at least 2");
    expect(!data.input_shape.empty(), "input_shape is empty");
    const std::int64_t width = std::accumulate(data.input_shape.begin(), data.input_shape.end(), std::int64_t{1},
                                               std::multiplies<>());
    expect(data.feature_names.empty() || static_cast<std::int64_t>(data.feature_names.size()) == width,
           std::to_string(data.feature_names.size()) + " feature names for " + std::to_string(width) + " features");
    for (const auto& [name, split] : splits_of(data)) {
      if (split->size() == 0) continue;
      std::vector<std::int64_t> expected{split->size()};
      expected.insert(expected.end(), data.input_shape.begin(), data.input_shape.end());
      const std::string where = std::string(name) + " split: ";
      if (data.pixels.defined())
        expect(split->x.scalar_type() == torch::kByte, where + "x is " + std::string(split->x.dtype().name()) +
                                                           ", expected uint8 (raw pixels, as DataSplits::pixels says)");
      else
        expect(split->x.scalar_type() == torch::kFloat32, where + "x is " + std::string(split->x.dtype().name()) + ", expected float32");
      expect(split->x.sizes().vec() == expected,
             where + "x is " + shape_text(split->x.sizes().vec()) + ", expected " + shape_text(expected));
      expect(split->y.scalar_type() == torch::kLong && split->y.dim() == 1 && split->y.size(0) == split->size(),
             where + "y must be int64 {N}, got " + std::string(split->y.dtype().name()) + " " + shape_text(split->y.sizes().vec()));
      if (split->index.defined())
        expect(split->index.scalar_type() == torch::kLong && split->index.sizes().vec() == std::vector<std::int64_t>{split->size()},
               where + "index must be int64 {N}");
      if (split->outcome.defined())
        expect(split->outcome.dim() == 1 && split->outcome.size(0) == split->size(), where + "outcome must be {N}");
    }
    if (data.pixels.defined()) {
      const auto channels = static_cast<std::size_t>(data.input_shape.front());
      expect(data.input_shape.size() == 3 && data.pixels.mean.size() == channels && data.pixels.std.size() == channels,
             "pixels: expected samples {C, H, W} and one mean and std per channel C, got " + shape_text(data.input_shape) +
                 " with " + std::to_string(data.pixels.mean.size()) + " means and " + std::to_string(data.pixels.std.size()) + " stds");
      for (const double s : data.pixels.std) expect(s > 0, "pixels: every std must be > 0, got " + std::to_string(s));
    }
    for (const auto& c : data.categorical) {
      const std::string where = "categorical column " + std::to_string(c.column) + ": ";
      expect(c.column >= 0 && c.column < width, where + "outside the " + std::to_string(width) + " features");
      expect(c.values.size() >= 2, where + std::to_string(c.values.size()) + " categories; declare at least 2");
      for (const auto& [name, split] : splits_of(data)) {
        if (split->size() == 0) continue;
        const auto codes = split->x.flatten(1).select(1, c.column);
        expect((codes == codes.round()).all().item<bool>() && codes.min().item<double>() >= 0 &&
                   codes.max().item<double>() < static_cast<double>(c.values.size()),
               where + std::string(name) + " split holds values that are not category indices in [0, " +
                   std::to_string(c.values.size()) + ")");
      }
    }
    return std::string(data.pixels.defined() ? "x uint8 pixels " : "x float32 ") + shape_text(data.input_shape) + " per sample, y int64, " + std::to_string(classes) + " classes" +
           (data.categorical.empty() ? std::string() : ", " + std::to_string(data.categorical.size()) + " categorical");
  });
  list.run("split sizes add up", [&] {
    expect(data.train.size() > 0 && data.valid.size() > 0, "the train and valid splits must both hold samples");
    const std::int64_t total = data.train.size() + data.valid.size() + data.test.size();
    expect(data.info.is_object() && data.info.contains("rows") && data.info["rows"].is_number_integer(),
           "DataSplits::info has no \"rows\" (the number of samples read), so nothing shows the splits hold them all");
    const auto rows = data.info["rows"].get<std::int64_t>();
    expect(total == rows, "train " + std::to_string(data.train.size()) + " + valid " + std::to_string(data.valid.size()) +
                              " + test " + std::to_string(data.test.size()) + " = " + std::to_string(total) + ", but info.rows is " +
                              std::to_string(rows));
    return std::to_string(data.train.size()) + " + " + std::to_string(data.valid.size()) + " + " +
           std::to_string(data.test.size()) + " = " + std::to_string(rows) + " rows";
  });
  list.run("no overlap between splits", [&] {
    const bool indexed = data.train.index.defined() && data.valid.index.defined() &&
                         (data.test.size() == 0 || data.test.index.defined());
    if (indexed) {
      const std::int64_t rows = data.info.value("rows", std::int64_t{-1});
      std::unordered_map<std::int64_t, const char*> owner;
      for (const auto& [name, split] : splits_of(data)) {
        if (split->size() == 0) continue;
        const auto index = split->index.contiguous();
        const std::int64_t* p = index.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < split->size(); ++i) {
          expect(p[i] >= 0 && (rows < 0 || p[i] < rows),
                 std::string(name) + " split: row " + std::to_string(p[i]) + " is outside [0, " + std::to_string(rows) + ")");
          const auto [it, fresh] = owner.emplace(p[i], name);
          expect(fresh, "row " + std::to_string(p[i]) + " is in both the " + it->second + " and the " + name + " split");
        }
      }
      return "by Split::index: " + std::to_string(owner.size()) + " distinct rows, each in one split";
    }
    // Without row identities only identical samples can be compared, and real data has some
    // duplicate rows: tolerate up to 1% of the held-out samples.
    std::unordered_map<std::size_t, const char*> train;
    for (const auto h : sample_hashes(data.train)) train.emplace(h, "train");
    std::int64_t shared = 0, held_out = 0;
    for (const auto& [name, split] : splits_of(data)) {
      if (split == &data.train) continue;
      for (const auto h : sample_hashes(*split)) shared += train.count(h) ? 1 : 0;
      held_out += split->size();
    }
    expect(shared * 100 <= held_out, std::to_string(shared) + " of " + std::to_string(held_out) +
                                         " held-out samples also appear in the train split");
    return "by content (set Split::index for an exact check): " + std::to_string(shared) + " of " +
           std::to_string(held_out) + " held-out samples equal a training sample, within the 1% duplicate rows allow";
  });
  list.run("labels in range", [&] {
    for (const auto& [name, split] : splits_of(data)) {
      if (split->size() == 0) continue;
      const auto low = split->y.min().item<std::int64_t>(), high = split->y.max().item<std::int64_t>();
      expect(low >= 0 && high < classes, std::string(name) + " split: labels span [" + std::to_string(low) + ", " +
                                             std::to_string(high) + "], but there are " + std::to_string(classes) + " classes");
    }
    return "every label in [0, " + std::to_string(classes) + ")";
  });
  list.run("features finite", [&] {
    for (const auto& [name, split] : splits_of(data))
      if (split->size() > 0)
        expect(torch::isfinite(split->x).all().item<bool>(), std::string(name) + " split: x holds NaN or infinity");
    return "no NaN or infinity";
  });
  list.run("deterministic for a seed", [&] {
    const DataSplits again = load(config);
    for (const auto& [name, split] : splits_of(data)) {
      const Split* other = name == std::string("train") ? &again.train : name == std::string("valid") ? &again.valid : &again.test;
      expect(same_tensor(split->x, other->x) && same_tensor(split->y, other->y) && same_tensor(split->index, other->index),
             std::string("loading the same configuration twice gave a different ") + name +
                 " split; shuffle with lepton::Rng seeded from the configuration");
    }
    expect(again.class_names == data.class_names && again.feature_names == data.feature_names,
           "loading twice gave different class or feature names");
    return "two loads of " + config.dump() + " are identical";
  });
  list.run("rejects unknown options", [&] {
    json bad = config;
    bad["no_such_option"] = 1;
    return expect_config_error([&] { load(bad); }, "dataset.no_such_option");
  });
  return list.take();
}

}  // namespace lepton::engine::conformance
