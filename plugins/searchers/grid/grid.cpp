// Grid search: every combination of the discrete parameters' values (conditions respected: an
// inactive parameter does not multiply the grid), each proposed once before any is repeated.
// A pure function of the history and the study's seed.
#include <lepton/lepton.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

namespace {

using lepton::json;

constexpr std::size_t kMaxPoints = 100'000;
constexpr std::uint32_t kInactive = std::numeric_limits<std::uint32_t>::max();

struct Options {
  std::int64_t points = 0;  // values per continuous float (and at most per discrete range); 0: floats are an error
  bool shuffle = true;
};

Options read_options(const json& options) {
  lepton::ConfigObject cfg(options, "search.options");
  Options o;
  o.points = cfg.has("points") ? cfg.integer_in("points", 2, 10'000, std::nullopt) : 0;
  o.shuffle = cfg.optional<bool>("shuffle", true);
  cfg.finish();
  return o;
}

std::string count_text(std::size_t n) { return std::to_string(n); }

// The values one parameter takes on the grid, in increasing order for numbers.
std::vector<json> grid_values(const lepton::ParamSpec& spec, const Options& options) {
  const std::string path = "search.space." + spec.name;
  if (spec.type == lepton::ParamType::kFixed) return {spec.value};
  if (spec.type == lepton::ParamType::kCategorical) return spec.choices;
  std::vector<json> out;
  const std::int64_t n = spec.cardinality();
  if (n > 0 && (options.points == 0 || n <= options.points)) {
    if (static_cast<std::size_t>(n) > kMaxPoints)
      throw lepton::ConfigError(path, "has " + std::to_string(n) + " values, more than a grid can hold (" +
                                          count_text(kMaxPoints) + "); give it a larger \"step\"");
    for (std::int64_t k = 0; k < n; ++k) out.push_back(spec.value_at(k));
    return out;
  }
  if (spec.low == spec.high) return {spec.low};
  if (options.points == 0)
    throw lepton::ConfigError(path, "grid search needs discrete values: give this float a \"step\", or set "
                                    "search.options.points to the number of evenly spaced values to try");
  const auto [lo, hi] = lepton::SearchSpace::internal_bounds(spec);
  // Evenly spaced on the internal scale; an integer or stepped range with more values than `points`
  // is thinned the same way (rounding may merge neighbours: each value is kept once).
  for (std::int64_t k = 0; k < options.points; ++k) {
    const double internal = lo + (hi - lo) * static_cast<double>(k) / static_cast<double>(options.points - 1);
    json value = lepton::SearchSpace::from_internal(spec, internal);
    if (out.empty() || out.back() != value) out.push_back(std::move(value));
  }
  return out;
}

class GridSearcher final : public lepton::Searcher {
 public:
  GridSearcher(const lepton::SearcherSetup& setup, const Options& options) : space_(setup.space) {
    for (const auto& spec : space_.params()) values_.push_back(grid_values(spec, options));
    lepton::Params assignment = json::object();
    std::vector<std::uint32_t> digits(space_.size(), kInactive);
    enumerate(0, assignment, digits);
    const std::size_t n = points_.size() / std::max<std::size_t>(space_.size(), 1);
    count_ = space_.empty() ? 1 : n;
    order_.resize(count_);
    for (std::size_t i = 0; i < count_; ++i) order_[i] = i;
    if (options.shuffle) {  // Fisher-Yates with the study's seed: a partial budget still covers the grid evenly
      lepton::Rng rng(lepton::derive_seed(setup.seed, 0x67726964 /* "grid" */));
      for (std::size_t i = count_; i > 1; --i)
        std::swap(order_[i - 1], order_[static_cast<std::size_t>(lepton::uniform_int(rng, 0, static_cast<std::int64_t>(i) - 1))]);
    }
    position_of_.resize(count_);
    for (std::size_t p = 0; p < count_; ++p) {
      position_of_[order_[p]] = p;
      index_.emplace(key_of(order_[p]), order_[p]);
    }
  }

  // The first point in grid order that has been proposed the fewest times.
  lepton::Params suggest(const lepton::SearchContext& context) override {
    const auto& trials = context.history();
    std::vector<std::uint32_t> uses(count_, 0);
    for (std::size_t i = 0; i < trials.size(); ++i) {
      const std::size_t point = point_of(i, trials[i]);
      if (point < count_) ++uses[position_of_[point]];
    }
    const auto least = std::min_element(uses.begin(), uses.end());
    return params_of(order_[static_cast<std::size_t>(least - uses.begin())]);
  }

 private:
  // Depth-first over the parameters (parents first): an inactive parameter contributes no choice.
  void enumerate(std::size_t i, lepton::Params& assignment, std::vector<std::uint32_t>& digits) {
    const auto& params = space_.params();
    if (i == params.size()) {
      if (points_.size() / std::max<std::size_t>(params.size(), 1) >= kMaxPoints)
        throw lepton::ConfigError("search.space", "the grid has more than " + count_text(kMaxPoints) +
                                                      " points; use larger steps, fewer choices or fewer "
                                                      "search.options.points, or another searcher (tpe, random)");
      points_.insert(points_.end(), digits.begin(), digits.end());
      return;
    }
    const auto& spec = params[i];
    if (!space_.is_active(spec, assignment)) {
      enumerate(i + 1, assignment, digits);
      return;
    }
    for (std::size_t k = 0; k < values_[i].size(); ++k) {
      assignment[spec.name] = values_[i][k];
      digits[i] = static_cast<std::uint32_t>(k);
      enumerate(i + 1, assignment, digits);
    }
    assignment.erase(spec.name);
    digits[i] = kInactive;
  }

  std::string key_of(std::size_t point) const {
    const auto* d = points_.data() + point * space_.size();
    return std::string(reinterpret_cast<const char*>(d), space_.size() * sizeof(std::uint32_t));
  }

  lepton::Params params_of(std::size_t point) const {
    lepton::Params out = json::object();
    for (std::size_t i = 0; i < space_.size(); ++i) {
      const std::uint32_t digit = points_[point * space_.size() + i];
      if (digit != kInactive) out[space_.params()[i].name] = values_[i][digit];
    }
    return out;
  }

  // The grid point of the i-th trial (count_ when it matches none), cached by trial number.
  std::size_t point_of(std::size_t i, const lepton::TrialView& trial) {
    if (i < cached_.size() && cached_[i].first == trial.number) return cached_[i].second;
    cached_.resize(i);
    std::vector<std::uint32_t> digits(space_.size(), kInactive);
    bool matched = true;
    for (std::size_t p = 0; p < space_.size() && matched; ++p) {
      const auto it = trial.params.find(space_.params()[p].name);
      if (it == trial.params.end()) continue;
      const auto k = value_index(p, *it);
      matched = k < values_[p].size();
      digits[p] = static_cast<std::uint32_t>(k);
    }
    std::size_t point = count_;
    if (matched) {
      const auto found = index_.find(std::string(reinterpret_cast<const char*>(digits.data()), digits.size() * sizeof(std::uint32_t)));
      if (found != index_.end()) point = found->second;
    }
    cached_.emplace_back(trial.number, point);
    return point;
  }

  std::size_t value_index(std::size_t p, const json& value) const {
    const auto& values = values_[p];
    const auto& spec = space_.params()[p];
    if (!spec.numeric() || !value.is_number()) {
      const auto it = std::find(values.begin(), values.end(), value);
      return static_cast<std::size_t>(it - values.begin());
    }
    const double v = value.get<double>();
    const auto it = std::lower_bound(values.begin(), values.end(), v,
                                     [](const json& a, double b) { return a.get<double>() < b; });
    for (auto c : {it, it == values.begin() ? it : it - 1})
      if (c != values.end() && std::fabs(c->get<double>() - v) <= 1e-9 * std::max(1.0, std::fabs(v)))
        return static_cast<std::size_t>(c - values.begin());
    return values.size();
  }

  lepton::SearchSpace space_;
  std::vector<std::vector<json>> values_;
  std::vector<std::uint32_t> points_;  // one digit per parameter per point (kInactive when inactive)
  std::size_t count_ = 0;
  std::vector<std::size_t> order_, position_of_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::pair<int, std::size_t>> cached_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_searcher([](const lepton::SearcherSetup& setup) -> std::unique_ptr<lepton::Searcher> {
    return std::make_unique<GridSearcher>(setup, read_options(setup.options));
  });
}
