// The trial process's side (the hidden `lepton __trial`): prepares the study once, then runs the
// trials its supervisor sends, one at a time, until the request pipe closes.
#include "run/isolation.hpp"

#include "prepare/prepare.hpp"
#include "run/trial_pipe.hpp"
#include "train/blas.hpp"

#include <sys/prctl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <optional>

namespace lepton::engine {

namespace {

TrialRecord trial_from_json(const json& t) {
  TrialRecord trial;
  trial.id = t.at("id").get<std::int64_t>();
  trial.study_id = t.at("study_id").get<std::int64_t>();
  trial.number = t.at("number").get<int>();
  trial.seed = t.at("seed").get<std::uint64_t>();
  trial.params = t.at("params");
  trial.attrs = t.at("attrs");
  return trial;
}

}  // namespace

int serve_trial_process(long parent_pid) {
  // Die with the parent: a trial nobody waits for must not run on.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent_pid) return 1;
  std::string buffer;
  const auto first = read_line(kRequestFd, buffer);
  if (!first) return 1;

  // Prepared once for every trial this process runs. A study that cannot be prepared here fails
  // each trial with the reason, as a thread would.
  Registry registry;
  std::optional<PreparedExperiment> prepared;
  std::string unprepared;
  try {
    const json request = json::parse(*first).at("prepare");
    at::set_num_threads(request.at("torch_threads").get<int>());
    set_blas_threads(1);  // as in a trial thread (run/study.cpp)
    const json& spec = request.at("spec");
    Experiment experiment =
        parse_experiment(spec.at("experiment"), spec.at("data_dirs").get<std::vector<std::string>>());
    for (const auto& folder : request.at("plugin_folders")) registry.load_folder(folder.get<std::string>());
    experiment.storage = request.value("storage", "");
    prepared = prepare_experiment(std::move(experiment), registry);
    prepared->artifact_dir = request.value("artifact_dir", "");
  } catch (const std::exception& e) {
    unprepared = e.what();
  }

  const EpochReport report = [&](int epoch, double value) {
    if (!write_all(kMessageFd, json{{"epoch", epoch}, {"value", value}}.dump() + "\n")) _exit(1);
    const auto answer = read_line(kRequestFd, buffer);
    if (!answer) _exit(1);  // the parent is gone
    return json::parse(*answer).at("stop").get<bool>();
  };
  while (const auto line = read_line(kRequestFd, buffer)) {
    TrialResult result;
    try {
      const TrialRecord trial = trial_from_json(json::parse(*line).at("trial"));
      if (!prepared) throw std::runtime_error(unprepared);
      result = run_trial(*prepared, registry, trial, report);
    } catch (const std::exception& e) {
      result = failure(e.what());
    }
    if (!write_all(kMessageFd, json{{"result", result_to_json(result)}}.dump() + "\n")) break;
  }
  // Plugins stay loaded to the end, so static destructors could still run plugin code: skip them.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace lepton::engine
