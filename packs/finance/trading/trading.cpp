// Trading metrics for a direction classifier: hold a long position on the days it predicts the
// "long" class (and a short one on "short" days, when given), and score the returns that follow
// (the dataset's per-sample outcome, e.g. the next day's log return).
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace {

class TradingMetrics final : public lepton::MetricSet {
 public:
  TradingMetrics(std::int64_t long_class, std::int64_t short_class, double periods)
      : long_(long_class), short_(short_class), periods_(periods) {}

  std::map<std::string, double> compute(const lepton::Predictions& p) const override {
    if (!p.outcome.defined())
      throw std::invalid_argument("trading metrics need each sample's outcome (a return); use a dataset that "
                                  "sets Split::outcome, such as timeseries");
    const auto predicted = p.probabilities.argmax(1).contiguous();
    const auto outcome = p.outcome.contiguous();
    const std::int64_t* decision = predicted.data_ptr<std::int64_t>();
    const double* r = outcome.data_ptr<double>();
    const auto n = predicted.size(0);
    double sum = 0, sum_sq = 0, hold = 0, in_market = 0, hits = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double position = decision[i] == long_ ? 1.0 : decision[i] == short_ ? -1.0 : 0.0;
      const double gain = position * r[i];
      sum += gain;
      sum_sq += gain * gain;
      hold += r[i];
      if (position != 0) {
        in_market += 1;
        hits += gain > 0 ? 1 : 0;
      }
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double count = static_cast<double>(n);
    const double mean = n > 0 ? sum / count : nan;
    const double variance = n > 0 ? std::max(0.0, sum_sq / count - mean * mean) : nan;
    return {{"strategy_return", sum},
            {"excess_return", sum - hold},
            {"annualized_return", mean * periods_},
            {"sharpe", variance > 0 ? mean / std::sqrt(variance) * std::sqrt(periods_) : nan},
            {"hit_rate", in_market > 0 ? hits / in_market : nan}};
  }

 private:
  std::int64_t long_, short_;
  double periods_;
};

}  // namespace

LEPTON_PLUGIN() {
  registrar.add_metric([](const lepton::MetricSetup& setup) -> std::unique_ptr<lepton::MetricSet> {
    lepton::ConfigObject options(setup.options, setup.path);
    const auto last = static_cast<std::int64_t>(setup.class_names.size()) - 1;
    const std::int64_t long_class =
        lepton::class_index(options.optional<lepton::json>("long", last), setup.class_names, options.path_of("long"));
    std::int64_t short_class = -1;
    if (options.has("short")) {
      short_class = lepton::class_index(options.raw("short"), setup.class_names, options.path_of("short"));
      if (short_class == long_class) throw lepton::ConfigError(options.path_of("short"), "\"short\" must differ from \"long\"");
    }
    const double periods = options.number_in("periods_per_year", 1.0, 1e6, 252.0);
    options.finish();
    return std::make_unique<TradingMetrics>(long_class, short_class, periods);
  });
}
