// Export formats. The Optuna journal follows optuna/storages/_journal/storage.py (3.1): op codes
// CREATE_STUDY = 0, SET_STUDY_USER_ATTR = 2, SET_STUDY_SYSTEM_ATTR = 3, CREATE_TRIAL = 4; a
// CREATE_TRIAL may carry the whole finished trial, as Optuna's own add_trial/copy_study write it.
#include "report/export.hpp"

#include "report/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

namespace lepton::engine {

namespace {

// optuna.trial.TrialState and optuna.study.StudyDirection values.
int optuna_state(TrialState state) {
  switch (state) {
    case TrialState::kRunning: return 0;
    case TrialState::kComplete: return 1;
    case TrialState::kPruned: return 2;
    case TrialState::kFail: return 3;
    case TrialState::kWaiting: return 4;
  }
  return 3;
}
int optuna_direction(Direction d) { return d == Direction::kMinimize ? 1 : 2; }

constexpr const char* kWorker = "lepton-export";

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// optuna.distributions.distribution_to_json: the JSON text of {"name", "attributes"}.
std::string optuna_distribution(const ParamSpec& spec) {
  json attributes;
  std::string name;
  switch (spec.type) {
    case ParamType::kFloat:
      name = "FloatDistribution";
      attributes = {{"low", spec.low}, {"high", spec.high}, {"log", spec.log},
                    {"step", spec.step > 0 ? json(spec.step) : json(nullptr)}};
      break;
    case ParamType::kInt:
      name = "IntDistribution";
      attributes = {{"low", static_cast<std::int64_t>(std::llround(spec.low))},
                    {"high", static_cast<std::int64_t>(std::llround(spec.high))},
                    {"log", spec.log},
                    {"step", spec.step > 0 ? static_cast<std::int64_t>(std::llround(spec.step)) : 1}};
      break;
    case ParamType::kCategorical:
      name = "CategoricalDistribution";
      attributes = {{"choices", spec.choices}};
      break;
    case ParamType::kFixed:  // Optuna has no constant: a categorical with one choice is its equivalent
      name = "CategoricalDistribution";
      attributes = {{"choices", json::array({spec.value})}};
      break;
  }
  return json{{"name", name}, {"attributes", attributes}}.dump();
}

// The value Optuna stores: the number itself, or the index among the choices.
json optuna_internal(const ParamSpec& spec, const json& value) {
  switch (spec.type) {
    case ParamType::kFloat:
    case ParamType::kInt: return value.get<double>();
    case ParamType::kCategorical: return spec.choice_index(value);
    case ParamType::kFixed: return 0;
  }
  return nullptr;
}

}  // namespace

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string iso_time(double unix_seconds, bool utc) {
  if (!(unix_seconds > 0)) return "";
  const auto whole = static_cast<std::time_t>(std::floor(unix_seconds));
  const int micros = std::min(999999, static_cast<int>(std::lround((unix_seconds - std::floor(unix_seconds)) * 1e6)));
  std::tm parts{};
  if (utc) {
    gmtime_r(&whole, &parts);
  } else {
    localtime_r(&whole, &parts);
  }
  char date[32], text[48];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &parts);
  std::snprintf(text, sizeof text, "%s.%06d%s", date, micros, utc ? "Z" : "");
  return text;
}

void write_trials_csv(const StudyRecord& study, const std::vector<TrialRecord>& trials, std::ostream& out) {
  // Columns are the union over trials, in first-seen order for params, sorted for metrics and attrs.
  std::vector<std::string> params;
  std::set<std::string> metrics, attrs;
  for (const auto& t : trials) {
    for (const auto& item : t.params.items())
      if (std::find(params.begin(), params.end(), item.key()) == params.end()) params.push_back(item.key());
    for (const auto& [name, value] : t.metrics) metrics.insert(name);
    for (const auto& item : t.attrs.items())
      if (item.value().is_primitive()) attrs.insert(item.key());
  }
  auto cell = [](const json& v) -> std::string {
    if (v.is_null()) return "";
    if (v.is_string()) return csv_field(v.get<std::string>());
    if (v.is_number_float() && !std::isfinite(v.get<double>())) return "";
    return csv_field(v.dump());  // numbers in their shortest exact form
  };

  std::vector<std::string> header{"number", "state"};
  for (const auto& o : study.objectives) header.push_back("values_" + o.metric);
  for (const auto& p : params) header.push_back("params_" + p);
  for (const auto& m : metrics) header.push_back("metrics_" + m);
  for (const auto& a : attrs) header.push_back("attrs_" + a);
  for (const char* c : {"seed", "datetime_start", "datetime_complete", "duration_s", "epochs", "error"}) header.push_back(c);
  for (std::size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << csv_field(header[i]);
  out << "\n";

  for (const auto& t : trials) {
    std::vector<std::string> row{std::to_string(t.number), to_string(t.state)};
    for (std::size_t i = 0; i < study.objectives.size(); ++i)
      row.push_back(i < t.values.size() ? cell(json(t.values[i])) : "");
    for (const auto& p : params) row.push_back(t.params.contains(p) ? cell(t.params[p]) : "");
    for (const auto& m : metrics) {
      const auto it = t.metrics.find(m);
      row.push_back(it == t.metrics.end() ? "" : cell(json(it->second)));
    }
    for (const auto& a : attrs) row.push_back(t.attrs.contains(a) ? cell(t.attrs[a]) : "");
    row.push_back(std::to_string(t.seed));
    row.push_back(iso_time(t.started_at, true));
    row.push_back(t.finished_at > 0 ? iso_time(t.finished_at, true) : "");
    row.push_back(t.finished_at > 0 ? cell(json(t.duration())) : "");
    row.push_back(std::to_string(t.intermediate.size()));
    row.push_back(csv_field(t.error));
    for (std::size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << row[i];
    out << "\n";
  }
}

json trials_document(const StudyRecord& study, const std::vector<TrialRecord>& trials) {
  const json objectives = objectives_to_json(study.objectives);
  json rows = json::array();
  for (const auto& t : trials) rows.push_back(trial_to_json(t, study.objectives));
  return {{"study",
           {{"name", study.name},
            {"objectives", objectives},
            {"created_at", study.created_at},
            {"experiment", study.spec.value("experiment", json(nullptr))}}},
          {"trials", rows}};
}

void write_optuna_journal(const StudyRecord& study, const SearchSpace& space, const std::vector<TrialRecord>& trials,
                          std::ostream& out) {
  auto line = [&](int op, json fields) {
    json entry = {{"op_code", op}, {"worker_id", kWorker}};
    entry.update(fields);
    out << entry.dump() << "\n";
  };
  json directions = json::array(), metric_names = json::array();
  for (const auto& o : study.objectives) {
    directions.push_back(optuna_direction(o.direction));
    metric_names.push_back(o.metric);
  }
  line(0, {{"study_name", study.name}, {"directions", directions}});
  line(2, {{"study_id", 0}, {"user_attr", {{"lepton_objectives", objectives_to_json(study.objectives)}}}});
  if (study.spec.contains("experiment"))
    line(2, {{"study_id", 0}, {"user_attr", {{"lepton_experiment", study.spec["experiment"]}}}});
  line(3, {{"study_id", 0}, {"system_attr", {{"study:metric_names", metric_names}}}});  // read by Optuna >= 3.4

  // Optuna numbers trials by their position in the study; Lepton's numbers are kept as a user attr.
  std::vector<const TrialRecord*> ordered;
  for (const auto& t : trials) ordered.push_back(&t);
  std::sort(ordered.begin(), ordered.end(), [](const TrialRecord* a, const TrialRecord* b) { return a->number < b->number; });
  for (const TrialRecord* t : ordered) {
    json distributions = json::object(), params = json::object();
    for (const auto& item : t->params.items()) {
      const ParamSpec* spec = space.find(item.key());
      if (!spec) continue;  // not in the stored space: Optuna would have no distribution for it
      distributions[item.key()] = optuna_distribution(*spec);
      params[item.key()] = optuna_internal(*spec, item.value());
    }
    json user_attrs = {{"lepton_number", t->number}, {"lepton_seed", t->seed}};
    for (const auto& [name, value] : t->metrics) user_attrs[name] = number_or_null(value);
    for (const auto& item : t->attrs.items()) user_attrs["lepton_" + item.key()] = item.value();
    json system_attrs = json::object();
    if (!t->error.empty()) system_attrs["fail_reason"] = t->error;
    json intermediate = json::object();
    for (const auto& [step, value] : t->intermediate) intermediate[std::to_string(step)] = number_or_null(value);

    const bool complete = t->state == TrialState::kComplete && t->values.size() == study.objectives.size();
    json value = nullptr, values = nullptr;
    if (complete && study.objectives.size() == 1) value = number_or_null(t->values[0]);
    if (complete && study.objectives.size() > 1) {
      values = json::array();
      for (const double v : t->values) values.push_back(number_or_null(v));
    }
    json fields = {{"study_id", 0},
                   {"state", optuna_state(t->state)},
                   {"value", value},
                   {"values", values},
                   {"datetime_start", t->started_at > 0 ? json(iso_time(t->started_at, false)) : json(nullptr)},
                   {"distributions", distributions},
                   {"params", params},
                   {"user_attrs", user_attrs},
                   {"system_attrs", system_attrs},
                   {"intermediate_values", intermediate}};
    if (t->finished_at > 0 && t->state != TrialState::kRunning && t->state != TrialState::kWaiting)
      fields["datetime_complete"] = iso_time(t->finished_at, false);
    line(4, std::move(fields));
  }
}

}  // namespace lepton::engine
