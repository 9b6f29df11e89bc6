// Builds the report's data (ranking, running best, Pareto front, importances) and inlines it into
// the page template with the embedded assets.
#include "report/html_report.hpp"

#include "report/assets.hpp"
#include "report/convergence.hpp"
#include "report/importance.hpp"
#include "report/pareto.hpp"
#include "report/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>

namespace lepton::engine {

namespace {

// Seven significant digits are plenty on screen and keep a 10,000-trial page small.
json rounded(double v) {
  if (!std::isfinite(v)) return nullptr;
  if (v == 0) return 0.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.7g", v);
  return std::strtod(buffer, nullptr);
}

json display_value(const json& v) { return v.is_number_float() ? rounded(v.get<double>()) : v; }

json param_json(const ParamSpec& spec) {
  json p = {{"name", spec.name}, {"type", to_string(spec.type)}};
  if (spec.numeric()) {
    p["low"] = spec.low;
    p["high"] = spec.high;
    p["log"] = spec.log;
  } else {
    p["choices"] = spec.type == ParamType::kFixed ? json::array({spec.value}) : json(spec.choices);
  }
  return p;
}

// Parameters of trials the stored space does not describe (an edited or imported study): numbers
// get a value axis over their range, anything else a category axis.
json inferred_params(const std::vector<TrialRecord>& trials, const json& known) {
  json out = json::array();
  std::vector<std::string> names;
  for (const auto& t : trials)
    for (const auto& item : t.params.items())
      if (std::find(names.begin(), names.end(), item.key()) == names.end()) names.push_back(item.key());
  for (const auto& name : names) {
    if (std::any_of(known.begin(), known.end(), [&](const json& p) { return p["name"] == name; })) continue;
    bool numeric = true;
    double low = INFINITY, high = -INFINITY;
    json choices = json::array();
    for (const auto& t : trials) {
      if (!t.params.contains(name)) continue;
      const json& v = t.params[name];
      if (v.is_number()) {
        low = std::min(low, v.get<double>());
        high = std::max(high, v.get<double>());
      } else {
        numeric = false;
      }
      if (std::find(choices.begin(), choices.end(), v) == choices.end()) choices.push_back(v);
    }
    if (numeric)
      out.push_back({{"name", name}, {"type", "float"}, {"low", low}, {"high", high}, {"log", false}});
    else
      out.push_back({{"name", name}, {"type", "categorical"}, {"choices", choices}});
  }
  return out;
}

void replace_marker(std::string& page, const std::string& marker, std::string_view content) {
  const auto at = page.find(marker);
  if (at == std::string::npos) throw std::logic_error("report template lacks " + marker);
  page.replace(at, marker.size(), content.data(), content.size());
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

SearchSpace study_space(const StudyRecord& study) {
  const json* space = nullptr;
  if (study.spec.contains("experiment") && study.spec["experiment"].contains("search") &&
      study.spec["experiment"]["search"].contains("space"))
    space = &study.spec["experiment"]["search"]["space"];
  return space ? SearchSpace::parse(*space, "search.space") : SearchSpace{};
}

json report_data(const StudyRecord& study, const std::vector<TrialRecord>& trials, const ReportOptions& options) {
  const auto& objectives = study.objectives;
  const SearchSpace space = study_space(study);
  const json experiment = study.spec.value("experiment", json::object());

  json params = json::array();
  std::vector<const ParamSpec*> specs;
  for (const auto& spec : space.params())
    if (spec.type != ParamType::kFixed) {
      params.push_back(param_json(spec));
      specs.push_back(&spec);
    }
  for (auto& p : inferred_params(trials, params)) params.push_back(std::move(p));

  // Columns, one entry per trial in store order (by number).
  json number = json::array(), state = json::array(), duration = json::array(), errors = json::object();
  json values = json::array(), param_columns = json::array(), extra = json::object();
  for (std::size_t k = 0; k < objectives.size(); ++k) values.push_back(json::array());
  for (std::size_t j = 0; j < params.size(); ++j) param_columns.push_back(json::array());
  // Test-split counterparts of the objectives (val_accuracy -> test_accuracy) when stored.
  std::vector<std::string> extra_names;
  for (const auto& o : objectives)
    if (o.metric.rfind("val_", 0) == 0) extra_names.push_back("test_" + o.metric.substr(4));
  extra_names.erase(std::remove_if(extra_names.begin(), extra_names.end(),
                                   [&](const std::string& name) {
                                     return std::none_of(trials.begin(), trials.end(),
                                                         [&](const TrialRecord& t) { return t.metrics.count(name) > 0; });
                                   }),
                    extra_names.end());
  for (const auto& name : extra_names) extra[name] = json::array();

  json curves_index = json::array(), curves_steps = json::array(), curves_values = json::array();
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    number.push_back(t.number);
    state.push_back(to_string(t.state));
    duration.push_back(t.finished_at > 0 ? rounded(t.duration()) : json(nullptr));
    if (!t.error.empty()) errors[std::to_string(i)] = t.error;
    for (std::size_t k = 0; k < objectives.size(); ++k)
      values[k].push_back(t.state == TrialState::kComplete && k < t.values.size() ? rounded(t.values[k]) : json(nullptr));
    for (std::size_t j = 0; j < params.size(); ++j) {
      const std::string& name = params[j]["name"].get_ref<const std::string&>();
      param_columns[j].push_back(t.params.contains(name) ? display_value(t.params[name]) : json(nullptr));
    }
    for (const auto& name : extra_names) {
      const auto it = t.metrics.find(name);
      extra[name].push_back(it == t.metrics.end() ? json(nullptr) : rounded(it->second));
    }
    if (!t.intermediate.empty()) {
      json steps = json::array(), vals = json::array();
      for (const auto& [step, value] : t.intermediate) {
        steps.push_back(step);
        vals.push_back(rounded(value));
      }
      curves_index.push_back(i);
      curves_steps.push_back(std::move(steps));
      curves_values.push_back(std::move(vals));
    }
  }

  // Table order: ranked COMPLETE trials first (best first), then the rest by number.
  json order = json::array();
  std::vector<bool> placed(trials.size(), false);
  std::map<int, std::size_t> index_of;
  for (std::size_t i = 0; i < trials.size(); ++i) index_of[trials[i].number] = i;
  SortKey key;
  key.direction = objectives.at(0).direction;
  for (const auto& t : rank(trials, key)) {
    const std::size_t i = index_of.at(t.number);
    order.push_back(i);
    placed[i] = true;
  }
  for (std::size_t i = 0; i < trials.size(); ++i)
    if (!placed[i]) order.push_back(i);

  json history = json::array();
  for (std::size_t k = 0; k < objectives.size(); ++k) {
    const Convergence c = convergence(trials, k, objectives[k].direction);
    json vals = json::array(), best = json::array();
    for (std::size_t i = 0; i < c.numbers.size(); ++i) {
      vals.push_back(rounded(c.values[i]));
      best.push_back(rounded(c.best[i]));
    }
    history.push_back({{"objective", objectives[k].metric}, {"numbers", c.numbers}, {"values", vals}, {"best", best}});
  }

  json importance = json::array();
  for (std::size_t k = 0; k < objectives.size(); ++k) {
    const Importances result = param_importances(space, trials, objectives, k);
    json shares = json::array();
    for (const auto& p : result.params)
      shares.push_back({{"name", p.name}, {"share", p.share}, {"error_increase", rounded(p.error_increase)}});
    importance.push_back({{"objective", result.objective},
                          {"params", shares},
                          {"trials_used", result.trials_used},
                          {"surrogate_r2", rounded(result.surrogate_r2)},
                          {"note", result.note}});
  }

  json pareto = json::array();
  if (objectives.size() > 1)
    for (const std::size_t i : pareto_front(trials, objectives)) pareto.push_back(i);

  json counts = json::object();
  for (const auto s : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail, TrialState::kRunning, TrialState::kWaiting})
    counts[to_string(s)] = std::count_if(trials.begin(), trials.end(), [&](const TrialRecord& t) { return t.state == s; });

  const json objective_list = objectives_to_json(objectives);
  const json search = experiment.value("search", json::object());

  return {{"generator", "Lepton " LEPTON_VERSION},
          {"generated_at", options.generated_at > 0 ? options.generated_at : unix_now()},
          {"study",
           {{"name", study.name},
            {"storage", options.storage},
            {"created_at", study.created_at},
            {"objectives", objective_list},
            {"searcher", search.value("searcher", "random")}}},
          {"counts", counts},
          {"params", params},
          {"trials",
           {{"number", number},
            {"state", state},
            {"values", values},
            {"params", param_columns},
            {"duration", duration},
            {"error", errors},
            {"extra", extra}}},
          {"order", order},
          {"best", order.empty() || !placed[order[0].get<std::size_t>()] ? json(nullptr) : order[0]},
          {"history", history},
          {"pareto", pareto},
          {"curves", {{"index", curves_index}, {"steps", curves_steps}, {"values", curves_values}}},
          {"importance", importance}};
}

void write_html_report(const json& data, std::ostream& out) {
  std::string page(assets::report_html());
  // JSON inside <script> must not close the element: "</" becomes "<\/" (the same string in JSON).
  std::string text = data.dump(-1, ' ', false, json::error_handler_t::replace);
  for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3)) text.insert(at + 1, "\\");
  const std::string title = "Lepton report: " + data["study"]["name"].get<std::string>();
  // Fill the later markers first so that no inlined content is searched for a marker.
  replace_marker(page, "@@SCRIPT@@", assets::report_js());
  replace_marker(page, "@@DATA@@", text);
  replace_marker(page, "@@ECHARTS@@", assets::echarts_js());
  replace_marker(page, "@@CSS@@", assets::report_css());
  replace_marker(page, "@@TITLE@@", html_escape(title));
  out << page;
}

}  // namespace lepton::engine
