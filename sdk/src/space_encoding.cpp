// Unit-cube encoding of search-space points: one dimension per numeric parameter, one or one per
// choice per categorical, discrete values at the centres of equal cells.
#include <lepton/space_encoding.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace lepton {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The internal-scale interval [lo, hi] that [0, 1] maps onto.
std::pair<double, double> unit_interval(const ParamSpec& spec) {
  if (spec.type == ParamType::kInt && spec.log) return {std::log(spec.low - 0.5), std::log(spec.high + 0.5)};
  const std::int64_t n = spec.cardinality();
  if (n > 0) {  // int or stepped float: cells of one step around each value
    const double step = spec.type == ParamType::kInt ? std::max(1.0, spec.step) : spec.step;
    return {spec.low - 0.5 * step, spec.low + (static_cast<double>(n) - 0.5) * step};
  }
  return SearchSpace::internal_bounds(spec);
}

}  // namespace

double to_unit(const ParamSpec& spec, double value) {
  const auto [lo, hi] = unit_interval(spec);
  if (!(hi > lo)) return 0.5;
  const double internal = spec.log ? std::log(std::max(value, std::numeric_limits<double>::min())) : value;
  return std::clamp((internal - lo) / (hi - lo), 0.0, 1.0);
}

json from_unit(const ParamSpec& spec, double u) {
  u = std::isnan(u) ? 0.5 : std::clamp(u, 0.0, 1.0);
  const std::int64_t n = spec.cardinality();
  if (n > 0 && !(spec.type == ParamType::kInt && spec.log)) {
    const auto k = std::min<std::int64_t>(n - 1, static_cast<std::int64_t>(std::floor(u * static_cast<double>(n))));
    return spec.value_at(k);
  }
  const auto [lo, hi] = unit_interval(spec);
  const double internal = lo + u * (hi - lo);
  if (spec.type == ParamType::kInt)  // log-scaled integer
    return static_cast<std::int64_t>(std::clamp(std::round(std::exp(internal)), spec.low, spec.high));
  const double v = spec.log ? std::exp(internal) : internal;
  return std::clamp(v, spec.low, spec.high);
}

SpaceEncoder::SpaceEncoder(SearchSpace space, CategoricalEncoding categorical)
    : space_(std::move(space)), categorical_(categorical) {
  const auto& params = space_.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ParamSpec& spec = params[i];
    const std::size_t first = dimensions_.size();
    if (spec.numeric()) {
      dimensions_.push_back({i, -1, spec.cardinality()});
    } else if (spec.type == ParamType::kCategorical) {
      const auto count = static_cast<std::int64_t>(spec.choices.size());
      if (categorical_ == CategoricalEncoding::kOneHot) {
        for (int c = 0; c < static_cast<int>(count); ++c) dimensions_.push_back({i, c, 2});
      } else {
        dimensions_.push_back({i, -1, count});
      }
    }
    spans_.emplace_back(first, dimensions_.size() - first);
  }
}

std::vector<double> SpaceEncoder::encode(const Params& point) const {
  std::vector<double> x(dimensions_.size(), kNaN);
  const auto& params = space_.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ParamSpec& spec = params[i];
    const auto [first, count] = spans_[i];
    const auto it = point.find(spec.name);
    if (count == 0 || it == point.end()) continue;
    if (spec.numeric()) {
      if (it->is_number()) x[first] = to_unit(spec, it->get<double>());
      continue;
    }
    const int choice = spec.choice_index(*it);
    if (choice < 0) continue;
    if (categorical_ == CategoricalEncoding::kOneHot) {
      for (std::size_t c = 0; c < count; ++c) x[first + c] = static_cast<int>(c) == choice ? 1.0 : 0.0;
    } else {
      x[first] = (choice + 0.5) / static_cast<double>(spec.choices.size());
    }
  }
  return x;
}

json SpaceEncoder::decode_param(std::size_t param, const std::vector<double>& x) const {
  const ParamSpec& spec = space_.params().at(param);
  const auto [first, count] = spans_.at(param);
  if (spec.type == ParamType::kFixed) return spec.value;
  if (spec.numeric()) return from_unit(spec, x.at(first));
  std::size_t choice = 0;
  if (categorical_ == CategoricalEncoding::kOneHot) {
    for (std::size_t c = 1; c < count; ++c)
      if (x.at(first + c) > x.at(first + choice)) choice = c;
  } else {
    const double u = std::clamp(x.at(first), 0.0, 1.0);
    choice = std::min(spec.choices.size() - 1, static_cast<std::size_t>(u * static_cast<double>(spec.choices.size())));
  }
  return spec.choices[choice];
}

Params SpaceEncoder::decode(const std::vector<double>& x, Rng* rng) const {
  Params out = json::object();
  const auto& params = space_.params();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ParamSpec& spec = params[i];
    if (!space_.is_active(spec, out)) continue;
    const auto [first, count] = spans_[i];
    const bool missing = std::any_of(x.begin() + static_cast<std::ptrdiff_t>(first),
                                     x.begin() + static_cast<std::ptrdiff_t>(first + count),
                                     [](double v) { return std::isnan(v); });
    if (!missing) {
      out[spec.name] = decode_param(i, x);
    } else if (rng) {
      out[spec.name] = SearchSpace::sample_value(spec, *rng);
    } else {
      out[spec.name] = spec.numeric() ? from_unit(spec, 0.5) : spec.choices.front();
    }
  }
  return out;
}

void EncodedTrials::update(const SpaceEncoder& encoder, const std::vector<TrialView>& trials) {
  if (stride_ != encoder.size()) {
    stride_ = encoder.size();
    numbers_.clear();
    data_.clear();
  }
  // Keep the prefix that still matches by number; re-encode from the first difference.
  std::size_t keep = 0;
  while (keep < numbers_.size() && keep < trials.size() && numbers_[keep] == trials[keep].number) ++keep;
  numbers_.resize(keep);
  data_.resize(keep * stride_);
  for (std::size_t i = keep; i < trials.size(); ++i) {
    const auto x = encoder.encode(trials[i].params);
    numbers_.push_back(trials[i].number);
    data_.insert(data_.end(), x.begin(), x.end());
  }
}

}  // namespace lepton
