// `lepton report`: one self-contained HTML page per study (optimization history with the running
// best, Pareto front, parallel coordinates, parameter importances, learning curves, ranked table).
#pragma once

#include "store/store.hpp"

#include <lepton/search_space.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace lepton::engine {

struct ReportOptions {
  std::string storage;    ///< shown in the page's header
  double generated_at = 0;  ///< Unix time; 0: now
};

/// The search space a study was created with (its stored experiment's search.space).
SearchSpace study_space(const StudyRecord& study);

/// Everything the page plots, as one JSON document (columnar, so 10,000 trials stay small).
json report_data(const StudyRecord& study, const std::vector<TrialRecord>& trials, const ReportOptions& options);

/// Writes the page: the template with the style, Apache ECharts, `data` and the page script inlined,
/// so it opens without a network.
void write_html_report(const json& data, std::ostream& out);

}  // namespace lepton::engine
