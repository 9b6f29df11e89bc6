// bench/tables: loading a mixed-type CSV (numbers, categories, missing cells, free text, a row ID)
// with the csv dataset plugin beside pandas.read_csv on the same file, in the same run.
//
//   build/bin/bench_tables [--rows 200000] [--repeats 3]
//
// Lepton's time is the whole load: parsing, type inference, category encoding, the stratified
// split and filling missing cells from the training split. pandas' is read_csv alone (parsing and
// type inference); it does no encoding, split or imputation.
#include "plugins/registry.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace lepton::engine;

namespace {

// A table like the ones users bring: an ID, numbers with gaps, categories, free text, a flag.
void write_table(const std::string& path, int rows) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  const char* segments[] = {"retail", "corporate", "sme", "private", "public"};
  std::ofstream out(path);
  out << "id,age,income,balance,city,segment,name,visits,member,label\n";
  char line[256];
  for (int r = 0; r < rows; ++r) {
    const double age = 18 + 60 * unit(random), income = std::exp(10 + 0.5 * normal(random)), balance = 1000 * normal(random);
    const int city = static_cast<int>(50 * unit(random) * unit(random));
    const int segment = static_cast<int>(5 * unit(random));
    const bool member = unit(random) < 0.3;
    const int visits = static_cast<int>(20 * unit(random));
    const bool positive = 0.02 * (age - 40) + 0.3 * member + 0.1 * normal(random) + (segment == 2 ? 0.2 : 0) > 0.1;
    std::string age_text = unit(random) < 0.05 ? "NA" : std::to_string(age);
    std::snprintf(line, sizeof line, "%d,%s,%.2f,%.2f,city_%d,%s,user %08llx,%d,%s,%s\n", r + 1, age_text.c_str(),
                  income, balance, city, unit(random) < 0.02 ? "" : segments[segment],
                  static_cast<unsigned long long>(random() & 0xffffffffULL), visits, member ? "True" : "False",
                  positive ? "yes" : "no");
    out << line;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double lepton_seconds(const Registry& registry, const std::string& file, std::int64_t* features) {
  lepton::DatasetRequest request;
  request.config = {{"path", file}, {"label", "label"}};
  const auto start = std::chrono::steady_clock::now();
  const lepton::DataSplits data = registry.dataset("csv").load(request);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *features = data.input_shape.at(0);
  return seconds;
}

double pandas_seconds(const std::string& file) {
  const std::string command = "/usr/bin/python3 -c \"import time, pandas; t = time.perf_counter(); "
                              "df = pandas.read_csv('" + file + "'); print(time.perf_counter() - t, len(df))\"";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot start python3");
  double seconds = -1;
  long rows = 0;
  if (std::fscanf(pipe, "%lf %ld", &seconds, &rows) != 2) seconds = -1;
  if (pclose(pipe) != 0 || seconds < 0) throw std::runtime_error("pandas failed: apt-get install python3-pandas");
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int rows = 200'000, repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
  }
  char pattern[] = "/tmp/lepton-bench-tables-XXXXXX";
  if (!mkdtemp(pattern)) return 1;
  const std::string file = std::string(pattern) + "/table.csv";
  write_table(file, rows);
  Registry registry;
  registry.load_default();
  std::vector<double> lepton_times, pandas_times;
  std::int64_t features = 0;
  for (int k = 0; k < repeats; ++k) {
    lepton_times.push_back(lepton_seconds(registry, file, &features));
    pandas_times.push_back(pandas_seconds(file));
  }
  const double l = median(lepton_times), p = median(pandas_times);
  std::printf("%d rows x 10 columns (id, 3 numbers with 5%% NA ages, 50 cities, 5 segments with 2%% blanks, free-text names, "
              "counts, a True/False flag, the label); median of %d\n\n", rows, repeats);
  std::printf("| measurement | Lepton csv plugin | pandas.read_csv | Lepton advantage |\n|---|---:|---:|---:|\n");
  std::printf("| load (s) | %.3f | %.3f | %.2fx |\n", l, p, p / l);
  std::printf("| rows per second | %.0f | %.0f | |\n", rows / l, rows / p);
  std::printf("\nLepton's load includes type inference, encoding (%lld features), the split and imputation.\n",
              static_cast<long long>(features));
  std::filesystem::remove_all(pattern);
  return 0;
}
