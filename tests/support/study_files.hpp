// What tests read back from study stores and files: trials, SQLite's integrity check, file digests.
#pragma once

#include "store/store.hpp"
#include "support/temp_dir.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace lepton::test {

/// small_experiment() made as cheap as a real trial gets (one epoch, whole-split batches, narrow
/// networks: about 15 ms a trial), for tests that need many trials.
json quick_experiment(const std::string& name, int trials);

/// The trials of `study` in the store at `url`; empty while the store or the study does not exist.
std::vector<engine::TrialRecord> trials_of(const std::string& url, const std::string& study);

/// How many trials of `study` are in `state`.
int count_state(const std::string& url, const std::string& study, TrialState state);

/// Polls `done` every 50 ms (each poll may open a store) until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

/// SQLite's `PRAGMA integrity_check` on the file, opened read-only: "ok" when sound.
std::string sqlite_integrity(const std::string& path);

/// A digest of the file's bytes ("" when missing), to prove a file was not touched.
std::string file_digest(const std::string& path);

}  // namespace lepton::test
