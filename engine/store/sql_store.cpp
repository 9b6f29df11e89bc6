// The study store's SQL, once for every back end. Each write is one transaction that takes the
// study's row first (its change counter) and trial rows after, so concurrent writers queue rather
// than deadlock, and a crash leaves the whole write or none of it. Times come from the database's
// clock. A start whose COMMIT was lost with the connection is found again by its token, not redone.
#include "store/sql_store.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <type_traits>
#include <unordered_map>

namespace lepton::engine {

namespace {

// A 64-bit seed in a signed BIGINT column, bit for bit (seeds use all 64 bits; GCC and Clang
// convert between the two modulo 2^64).
std::int64_t seed_to_db(std::uint64_t seed) { return static_cast<std::int64_t>(seed); }
std::uint64_t seed_from_db(std::int64_t stored) { return static_cast<std::uint64_t>(stored); }

std::string random_token() {
  std::random_device device;
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x%08x%08x%08x", device(), device(), device(), device());
  return buffer;
}

// A table holding one value per (owner, key): a study's attrs, a trial's params, values and so on.
struct KeyedTable {
  const char* name;
  const char* parent;  ///< the owner's table
  const char* owner;
  const char* key;
  const char* key_type;
  const char* value;
  const char* value_type;
};
constexpr KeyedTable kStudyAttrs{"study_attrs", "studies", "study_id", "key", "TEXT", "value", "TEXT NOT NULL"};
constexpr KeyedTable kParams{"trial_params", "trials", "trial_id", "name", "TEXT", "value", "TEXT NOT NULL"};
constexpr KeyedTable kValues{"trial_values", "trials", "trial_id", "objective", "INTEGER", "value", "{REAL}"};
constexpr KeyedTable kIntermediate{"trial_intermediate", "trials", "trial_id", "step", "INTEGER", "value", "{REAL}"};
constexpr KeyedTable kMetrics{"trial_metrics", "trials", "trial_id", "name", "TEXT", "value", "{REAL}"};
constexpr KeyedTable kAttrs{"trial_attrs", "trials", "trial_id", "key", "TEXT", "value", "TEXT NOT NULL"};
constexpr KeyedTable kArtifacts{"artifacts", "trials", "trial_id", "name", "TEXT", "path", "TEXT NOT NULL"};

std::string select_from(const KeyedTable& t) {
  return std::string("SELECT ") + t.owner + ", " + t.key + ", " + t.value + " FROM " + t.name;
}

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<SqlDatabase> db) : db_(std::move(db)), now_(db_->now_sql()) {}

  std::string url() const override { return db_->url(); }

  std::optional<StudyRecord> find_study(const std::string& name) override {
    return in(Transaction::kNone, [&]() -> std::optional<StudyRecord> {
      auto found = studies("WHERE name = ?", {name});
      return found.empty() ? std::nullopt : std::optional(found[0]);
    });
  }

  StudyRecord create_study(const std::string& name, const std::vector<Objective>& objectives, const json& spec,
                           bool* created) override {
    return in(Transaction::kWrite, [&] {
      auto inserted = db_->query("INSERT INTO studies (name, objectives, spec, created_at) VALUES (?, ?, ?, " + now_ +
                                     ") ON CONFLICT (name) DO NOTHING RETURNING id, created_at",
                                 {name, objectives_to_json(objectives).dump(), spec.dump()});
      if (created) *created = inserted.size() == 1;
      if (inserted.size() == 1)
        return StudyRecord{inserted.at(0, 0).integer(), name, objectives, spec, inserted.at(0, 1).real()};
      return studies("WHERE name = ?", {name}).at(0);
    });
  }

  std::vector<StudyRecord> list_studies() override {
    return in(Transaction::kNone, [&] { return studies("ORDER BY id", {}); });
  }

  std::optional<TrialRecord> start_trial(std::int64_t study_id, std::int64_t* cursor, const std::string& worker,
                                         const Proposer& propose) override {
    const std::string token = random_token();
    const std::int64_t cursor_before = *cursor;
    bool retrying = false;
    return in(Transaction::kWrite, [&]() -> std::optional<TrialRecord> {
      *cursor = cursor_before;
      if (retrying) {  // the last attempt's COMMIT may have landed before the connection broke
        auto done = db_->query("SELECT id FROM trials WHERE study_id = ? AND token = ?", {study_id, token});
        if (done.size() == 1) return load_where(study_id, "id = ?", done.at(0, 0).integer()).at(0);
      }
      retrying = true;
      auto study =
          db_->query(std::string("SELECT next_number FROM studies WHERE id = ? ") + db_->lock_row_sql(), {study_id});
      if (study.size() == 0) throw StoreError("study " + std::to_string(study_id) + " does not exist");
      if (auto waiting = claim_waiting(study_id, worker, token)) return waiting;

      const int number = static_cast<int>(study.at(0, 0).integer());
      std::optional<Proposal> proposal = propose(number, load_trials(study_id, cursor));
      if (!proposal) return std::nullopt;
      const std::int64_t version = integer(
          "UPDATE studies SET next_number = next_number + 1, version = version + 1 WHERE id = ? RETURNING version",
          {study_id});
      const bool failed = !proposal->error.empty();
      const std::int64_t id = integer("INSERT INTO trials (study_id, number, state, seed, worker, started_at, "
                                      "heartbeat_at, finished_at, error, version, token) VALUES (?, ?, ?, ?, ?, " +
                                          now_ + ", " + now_ + ", " + (failed ? now_ : "NULL") +
                                          ", ?, ?, ?) RETURNING id",
                                      {study_id, number, failed ? "FAIL" : "RUNNING", seed_to_db(proposal->seed),
                                       worker, proposal->error, version, token});
      for (const auto& item : proposal->params.items()) put(kParams, id, item.key(), item.value().dump());
      return load_where(study_id, "id = ?", id).at(0);
    });
  }

  void report(std::int64_t trial_id, int step, double value) override {
    in(Transaction::kWrite, [&] {
      const std::int64_t version = bump_version_of_trial(trial_id);
      put(kIntermediate, trial_id, step, value);
      db_->query("UPDATE trials SET version = ?, heartbeat_at = " + now_ + " WHERE id = ?", {version, trial_id});
    });
  }

  void heartbeat(const std::vector<std::int64_t>& trial_ids) override {
    if (trial_ids.empty()) return;
    in(Transaction::kWrite, [&] {
      for (const auto id : trial_ids)
        db_->query("UPDATE trials SET heartbeat_at = " + now_ + " WHERE id = ? AND state = 'RUNNING'", {id});
    });
  }

  bool finish_trial(std::int64_t trial_id, const TrialResult& result) override {
    return in(Transaction::kWrite, [&] {
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto updated = db_->query("UPDATE trials SET state = ?, finished_at = " + now_ +
                                    ", error = ?, version = ? WHERE id = ? AND state = 'RUNNING' RETURNING id",
                                {to_string(result.state), result.error, version, trial_id});
      if (updated.size() == 0) return false;
      for (std::size_t i = 0; i < result.values.size(); ++i)
        put(kValues, trial_id, static_cast<int>(i), result.values[i]);
      for (const auto& [name, value] : result.metrics) put(kMetrics, trial_id, name, value);
      put_attrs(trial_id, result.attrs);
      for (const auto& [name, path] : result.artifacts) put(kArtifacts, trial_id, name, path);
      return true;
    });
  }

  Abandoned abandon_trial(std::int64_t trial_id, const std::string& reason,
                          const std::optional<json>& retry_attrs) override {
    return in(Transaction::kWrite, [&] {
      Abandoned out;
      const std::int64_t version = bump_version_of_trial(trial_id);
      auto updated = db_->query("UPDATE trials SET state = 'FAIL', finished_at = " + now_ +
                                    ", error = ?, version = ? WHERE id = ? AND state = 'RUNNING' RETURNING study_id",
                                {reason, version, trial_id});
      if (updated.size() == 0) return out;
      out.failed = true;
      if (!retry_attrs) return out;
      const std::int64_t study_id = updated.at(0, 0).integer();
      auto bump = db_->query("UPDATE studies SET next_number = next_number + 1, version = version + 1 WHERE id = ? "
                             "RETURNING next_number - 1, version",
                             {study_id});
      const std::int64_t number = bump.at(0, 0).integer(), copy_version = bump.at(0, 1).integer();
      const std::int64_t copy_id = integer("INSERT INTO trials (study_id, number, state, seed, version) SELECT "
                                           "study_id, ?, 'WAITING', seed, ? FROM trials WHERE id = ? RETURNING id",
                                           {number, copy_version, trial_id});
      db_->query("INSERT INTO trial_params (trial_id, name, value) SELECT ?, name, value FROM trial_params "
                 "WHERE trial_id = ?",
                 {copy_id, trial_id});
      put_attrs(copy_id, *retry_attrs);
      put_attrs(trial_id, json{{"retried_as", number}});
      out.retry = load_where(study_id, "id = ?", copy_id).at(0);
      return out;
    });
  }

  std::vector<TrialRecord> running_trials(std::int64_t study_id) override {
    return in(Transaction::kRead, [&] { return load_where(study_id, "state = 'RUNNING'"); });
  }

  double clock() override {
    return in(Transaction::kNone, [&] { return db_->query("SELECT " + now_).at(0, 0).real(); });
  }

  std::vector<std::string> check_integrity() override {
    std::lock_guard lock(mutex_);
    return db_->check_integrity();
  }

  std::vector<TrialRecord> trials(std::int64_t study_id) override {
    std::int64_t cursor = 0;
    return changed_trials(study_id, &cursor);
  }

  std::vector<TrialRecord> changed_trials(std::int64_t study_id, std::int64_t* cursor) override {
    const std::int64_t before = *cursor;
    return in(Transaction::kRead, [&] {
      *cursor = before;
      return load_trials(study_id, cursor);
    });
  }

  void set_study_attr(std::int64_t study_id, const std::string& key, const json& value) override {
    in(Transaction::kWrite, [&] { put(kStudyAttrs, study_id, key, value.dump()); });
  }

  json study_attr(std::int64_t study_id, const std::string& key) override {
    return in(Transaction::kNone, [&] {
      auto r = db_->query("SELECT value FROM study_attrs WHERE study_id = ? AND key = ?", {study_id, key});
      return r.size() == 1 ? json::parse(r.at(0, 0).text()) : json();
    });
  }

 private:
  // Runs `body` under the store's lock in one transaction of `kind`, and returns what it returned.
  template <typename Body>
  auto in(Transaction kind, Body&& body) -> decltype(body()) {
    std::lock_guard lock(mutex_);
    if constexpr (std::is_void_v<decltype(body())>) {
      db_->transact(kind, body);
    } else {
      std::optional<decltype(body())> result;
      db_->transact(kind, [&] { result = body(); });
      return std::move(*result);
    }
  }

  std::vector<StudyRecord> studies(const std::string& clause, const std::vector<SqlValue>& params) {
    std::vector<StudyRecord> out;
    for (const auto& row : db_->query("SELECT id, name, objectives, spec, created_at FROM studies " + clause, params).rows)
      out.push_back({row[0].integer(), row[1].text(), objectives_from_json(json::parse(row[2].text())), json::parse(row[3].text()),
                     row[4].real()});
    return out;
  }

  std::int64_t integer(const std::string& sql, const std::vector<SqlValue>& params) {
    return db_->query(sql, params).at(0, 0).integer();
  }

  // Inserts or replaces the value under (id, key) in `table`.
  void put(const KeyedTable& t, std::int64_t id, SqlValue key, SqlValue value) {
    db_->query(std::string("INSERT INTO ") + t.name + " (" + t.owner + ", " + t.key + ", " + t.value +
                   ") VALUES (?, ?, ?) ON CONFLICT (" + t.owner + ", " + t.key + ") DO UPDATE SET " + t.value +
                   " = excluded." + t.value,
               {id, std::move(key), std::move(value)});
  }

  void put_attrs(std::int64_t trial_id, const json& attrs) {
    for (const auto& item : attrs.items()) put(kAttrs, trial_id, item.key(), item.value().dump());
  }

  // Takes the study's row (the lock every writer takes first) and returns its next change number.
  std::int64_t bump_version_of_trial(std::int64_t trial_id) {
    auto bump = db_->query("UPDATE studies SET version = version + 1 WHERE id = (SELECT study_id FROM trials "
                           "WHERE id = ?) RETURNING version",
                           {trial_id});
    if (bump.size() == 0) throw StoreError("trial " + std::to_string(trial_id) + " does not exist");
    return bump.at(0, 0).integer();
  }

  // Claims the lowest-numbered WAITING trial of the study (a retry); runs inside start_trial.
  std::optional<TrialRecord> claim_waiting(std::int64_t study_id, const std::string& worker, const std::string& token) {
    // `+number`: SQLite sorts the few waiting rows rather than walk the study's (study, number) index.
    auto waiting = db_->query("SELECT id FROM trials WHERE study_id = ? AND state = 'WAITING' ORDER BY +number LIMIT 1",
                              {study_id});
    if (waiting.size() == 0) return std::nullopt;
    const std::int64_t id = waiting.at(0, 0).integer();
    const std::int64_t version =
        integer("UPDATE studies SET version = version + 1 WHERE id = ? RETURNING version", {study_id});
    db_->query("UPDATE trials SET state = 'RUNNING', worker = ?, started_at = " + now_ + ", heartbeat_at = " + now_ +
                   ", version = ?, token = ? WHERE id = ?",
               {worker, version, token, id});
    return load_where(study_id, "id = ?", id).at(0);
  }

  // The trials changed since `*cursor`, which it advances.
  std::vector<TrialRecord> load_trials(std::int64_t study_id, std::int64_t* cursor) {
    auto out = load_where(study_id, "version > ?", *cursor);
    for (const auto& t : out) *cursor = std::max(*cursor, t.version);
    return out;
  }

  // The study's trials matching `condition` (SQL over trials, with one `?` bound to `arg` when
  // given), by number, with their params, values, metrics, attrs and artifacts: one query per table.
  std::vector<TrialRecord> load_where(std::int64_t study_id, const std::string& condition,
                                      std::optional<std::int64_t> arg = std::nullopt) {
    std::vector<SqlValue> params{study_id};
    if (arg) params.emplace_back(*arg);
    auto r = db_->query("SELECT id, number, state, seed, worker, started_at, finished_at, heartbeat_at, error, version "
                        "FROM trials WHERE study_id = ? AND " + condition + " ORDER BY +number",
                        params);
    std::vector<TrialRecord> out;
    std::unordered_map<std::int64_t, std::size_t> index;
    for (const auto& row : r.rows) {
      TrialRecord t;
      t.id = row[0].integer();
      t.study_id = study_id;
      t.number = static_cast<int>(row[1].integer());
      t.state = trial_state_from_string(row[2].text());
      t.seed = seed_from_db(row[3].integer());
      t.worker = row[4].text();
      t.started_at = row[5].real();
      t.finished_at = row[6].real();
      t.heartbeat_at = row[7].real();
      t.error = row[8].text();
      t.version = row[9].integer();
      index[t.id] = out.size();
      out.push_back(std::move(t));
    }
    if (out.empty()) return out;
    auto for_each_row = [&](const std::string& select, auto&& apply) {
      auto rows = db_->query(select + " WHERE trial_id IN (SELECT id FROM trials WHERE study_id = ? AND " + condition + ")",
                             params);
      for (const auto& row : rows.rows)
        if (const auto it = index.find(row[0].integer()); it != index.end()) apply(out[it->second], row[1], row[2]);
    };
    using Cell = const SqlValue&;
    for_each_row(select_from(kParams),
                 [](TrialRecord& t, Cell k, Cell v) { t.params[k.text()] = json::parse(v.text()); });
    for_each_row(select_from(kValues), [](TrialRecord& t, Cell k, Cell v) {
      const auto i = static_cast<std::size_t>(k.integer());
      if (t.values.size() <= i) t.values.resize(i + 1, std::numeric_limits<double>::quiet_NaN());
      t.values[i] = v.real();
    });
    for_each_row(select_from(kIntermediate),
                 [](TrialRecord& t, Cell k, Cell v) { t.intermediate[static_cast<int>(k.integer())] = v.real(); });
    for_each_row(select_from(kMetrics),
                 [](TrialRecord& t, Cell k, Cell v) { t.metrics[k.text()] = v.real(); });
    for_each_row(select_from(kAttrs),
                 [](TrialRecord& t, Cell k, Cell v) { t.attrs[k.text()] = json::parse(v.text()); });
    for_each_row(select_from(kArtifacts),
                 [](TrialRecord& t, Cell k, Cell v) { t.artifacts[k.text()] = v.text(); });
    return out;
  }

  std::unique_ptr<SqlDatabase> db_;
  const std::string now_;
  std::mutex mutex_;
};

}  // namespace

void check_schema_version(const std::string& url, std::int64_t found, std::int64_t readable) {
  if (found > readable)
    throw StoreError(url + ": written by a newer Lepton (store schema " + std::to_string(found) + ", this build reads up to " +
                     std::to_string(readable) + "); upgrade lepton");
}

std::string store_schema(const SchemaDialect& d) {
  std::string script = R"sql(
CREATE TABLE {P}studies (
  id {ID}, name TEXT NOT NULL UNIQUE, objectives TEXT NOT NULL, spec TEXT NOT NULL, created_at {REAL} NOT NULL,
  next_number INTEGER NOT NULL DEFAULT 0, version {BIGINT} NOT NULL DEFAULT 0);
CREATE TABLE {P}trials (
  id {ID}, study_id {BIGINT} NOT NULL REFERENCES {P}studies(id) ON DELETE CASCADE, number INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('WAITING', 'RUNNING', 'COMPLETE', 'PRUNED', 'FAIL')),
  seed {BIGINT} NOT NULL, worker TEXT NOT NULL DEFAULT '', started_at {REAL}, finished_at {REAL},
  heartbeat_at {REAL}, error TEXT NOT NULL DEFAULT '', version {BIGINT} NOT NULL, token TEXT,
  UNIQUE (study_id, number));
CREATE INDEX trials_by_version ON {P}trials (study_id, version);
CREATE INDEX trials_by_state ON {P}trials (study_id, state);
)sql";
  for (const KeyedTable& t : {kStudyAttrs, kParams, kValues, kIntermediate, kMetrics, kAttrs, kArtifacts})
    script += std::string("CREATE TABLE {P}") + t.name + " (\n  " + t.owner + " {BIGINT} NOT NULL REFERENCES {P}" +
              t.parent + "(id) ON DELETE CASCADE, " + t.key + " " + t.key_type + " NOT NULL, " + t.value + " " +
              t.value_type + ",\n  PRIMARY KEY (" + t.owner + ", " + t.key + ")){KEYED};\n";
  for (auto [token, spelling] : {std::pair{"{P}", d.prefix}, {"{ID}", d.id}, {"{BIGINT}", d.bigint},
                                 {"{REAL}", d.real}, {"{KEYED}", d.keyed_table}})
    for (std::size_t at; (at = script.find(token)) != std::string::npos;)
      script.replace(at, std::strlen(token), spelling);
  return script;
}

std::unique_ptr<Store> make_sql_store(std::unique_ptr<SqlDatabase> database) {
  return std::make_unique<SqlStore>(std::move(database));
}

}  // namespace lepton::engine
