// Reading requests for a served model. A model folder hands every request to its dataset plugin as
// a file in a private scratch folder, so a served row is read exactly as `lepton predict` reads a
// file: the same columns by name, imputation, unseen categories, image decoding and normalization,
// for every plugin, third-party ones included. Rows of numbers for other plugins, and every
// request to a TorchScript file, are the samples as the TorchScript export takes them.
#include "serve/served_model.hpp"

#include "train/checkpoint.hpp"
#include "train/predict.hpp"
#include "train/trainer.hpp"

#include <lepton/dataset.hpp>

#include <torch/script.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>

namespace lepton::engine {

namespace fs = std::filesystem;

namespace {

std::string type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_string()) return "a string";
  return v.dump();
}

// One CSV cell for a JSON value: null is a missing cell; text is quoted when it must be.
std::string csv_cell(const json& v, const std::string& field) {
  if (v.is_null()) return "";
  if (v.is_number() || v.is_boolean()) return v.dump();
  if (!v.is_string()) throw BadRequest(400, field, "expected a number, a string or null, got " + type_name(v));
  const auto& text = v.get_ref<const std::string&>();
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + cells[i];
  return line + "\n";
}

// Numbers of one sample, nested arrays flattened in order.
void flatten_numbers(const json& v, const std::string& field, std::vector<float>& out) {
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) flatten_numbers(v[i], field, out);
  } else if (v.is_number()) {
    out.push_back(v.get<float>());
  } else {
    throw BadRequest(400, field, "expected numbers, got " + type_name(v));
  }
}

std::int64_t flat_size(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

// The samples of rows (or records, by feature name) of numbers, {n, shape...}.
at::Tensor numeric_samples(const ModelInput& input, const std::vector<std::int64_t>& shape,
                           const std::vector<std::string>& features) {
  const std::string field = input.kind == ModelInput::Kind::kRows ? "rows" : "records";
  const std::int64_t width = flat_size(shape);
  std::vector<float> values;
  values.reserve(input.rows.size() * static_cast<std::size_t>(width));
  for (std::size_t i = 0; i < input.rows.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const auto before = values.size();
    if (input.kind == ModelInput::Kind::kRecords) {
      if (features.size() != static_cast<std::size_t>(width))
        throw BadRequest(400, field, "this model's features have no names; send \"rows\" of " + std::to_string(width) + " numbers");
      for (const auto& name : features) {
        const auto it = input.rows[i].find(name);
        if (it == input.rows[i].end()) throw BadRequest(400, at, "has no \"" + name + "\", which the model reads");
        flatten_numbers(*it, at + "." + name, values);
      }
    } else {
      flatten_numbers(input.rows[i], at, values);
    }
    const auto count = static_cast<std::int64_t>(values.size() - before);
    if (count != width)
      throw BadRequest(400, at, "expected " + std::to_string(width) + " numbers (a sample of shape " + json(shape).dump() +
                                    "), got " + std::to_string(count));
  }
  std::vector<std::int64_t> sizes{static_cast<std::int64_t>(input.rows.size())};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  return torch::tensor(values, torch::kFloat32).reshape(sizes);
}

// An image's format from its first bytes, as a file extension the decoders know.
std::string image_extension(const std::string& bytes) {
  if (bytes.rfind("\x89PNG", 0) == 0) return ".png";
  if (bytes.rfind("\xFF\xD8", 0) == 0) return ".jpg";
  if (bytes.rfind("GIF8", 0) == 0) return ".gif";
  if (bytes.rfind("BM", 0) == 0) return ".bmp";
  return "";
}

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

struct ServedModel::Impl {
  const Registry* registry = nullptr;
  std::string path, scratch;
  std::atomic<std::uint64_t> requests{0};
  // An exported folder.
  std::optional<ModelCard> card;
  std::shared_ptr<Network> net;
  std::optional<Standardization> standardization;  // the dataset's, for rows of numbers
  // A TorchScript file.
  mutable std::optional<torch::jit::Module> module;
  std::vector<std::string> classes, features;
  std::vector<std::int64_t> input_shape;
  json about = json::object();

  bool reads_tables() const { return card && card->dataset_plugin == "csv"; }

  // A request's own scratch path, removed when it is done.
  struct Scratch {
    fs::path path;
    ~Scratch() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  };
  Scratch scratch_for(const std::string& extension) {
    return {fs::path(scratch) / ("request-" + std::to_string(requests.fetch_add(1)) + extension)};
  }

  // The plugin's reading of `file`; its complaints about the content are the client's. `expected`
  // samples (when known) must all be there: a request's row or image is never dropped silently.
  at::Tensor read(const std::string& file, const std::string& field, std::int64_t expected = -1) const {
    auto in_request = [&](std::string text) {
      for (const std::string& name : {file, fs::path(file).filename().string()})
        for (std::size_t at; (at = text.find(name)) != std::string::npos;) text.replace(at, name.size(), "the request");
      return text;
    };
    DataSplits data;
    try {
      data = read_for_prediction(*card, file, *registry);
    } catch (const ConfigError& e) {
      throw BadRequest(400, field, in_request(e.detail()));
    }
    if (expected >= 0 && data.test.size() != expected) {
      std::string why = std::to_string(expected - data.test.size()) + " of the " + std::to_string(expected) +
                        " samples could not be read";
      for (const auto& notice : data.info.value("notices", json::array())) why += "; " + in_request(notice.get<std::string>());
      throw BadRequest(400, field, why);
    }
    return data.test.x;
  }

  // Rows or records as a CSV file with a header: the training file's columns, the label left out.
  std::string table_text(const ModelInput& input) const {
    const json& fitted = card->dataset_fitted;
    std::vector<std::string> header = fitted.value("header", std::vector<std::string>{});
    if (!header.empty() && fitted.contains("label_column"))
      header.erase(header.begin() + static_cast<std::ptrdiff_t>(fitted["label_column"].get<std::size_t>()));
    std::string text;
    if (input.kind == ModelInput::Kind::kRecords) {
      // The training file's columns: a key a record leaves out is a missing value, and keys the
      // model does not read are ignored, as the columns of a file given to `lepton predict` are.
      if (header.empty())
        throw BadRequest(400, "records", "the model's training file had no column names; send \"rows\" in its column order");
      std::vector<std::string> names;
      for (const auto& c : header) names.push_back(csv_cell(c, "records"));
      text = csv_line(names);
      for (std::size_t i = 0; i < input.rows.size(); ++i) {
        std::vector<std::string> cells;
        for (const auto& c : header) {
          const auto it = input.rows[i].find(c);
          cells.push_back(it == input.rows[i].end() ? "" : csv_cell(*it, "records[" + std::to_string(i) + "]." + c));
        }
        text += csv_line(cells);
      }
      return text;
    }
    if (!header.empty()) {
      std::vector<std::string> names;
      for (const auto& c : header) names.push_back(csv_cell(c, "rows"));
      text = csv_line(names);
    }
    for (std::size_t i = 0; i < input.rows.size(); ++i) {
      const std::string at = "rows[" + std::to_string(i) + "]";
      const json& row = input.rows[i];
      if (!row.is_array()) throw BadRequest(400, at, "expected an array of values, got " + type_name(row));
      if (!header.empty() && row.size() != header.size()) {
        std::string names;
        for (std::size_t k = 0; k < header.size() && k < 8; ++k) names += (k ? ", " : "") + header[k];
        throw BadRequest(400, at, "expected " + std::to_string(header.size()) + " values, one per column (" + names +
                                      (header.size() > 8 ? ", ..." : "") + "), got " + std::to_string(row.size()));
      }
      std::vector<std::string> cells;
      for (std::size_t k = 0; k < row.size(); ++k) cells.push_back(csv_cell(row[k], at + "[" + std::to_string(k) + "]"));
      text += csv_line(cells);
    }
    return text;
  }
};

ServedModel::ServedModel(std::string name, const std::string& path, const Registry& registry, std::string scratch)
    : name_(std::move(name)), impl_(std::make_unique<Impl>()) {
  impl_->registry = &registry;
  impl_->path = path;
  impl_->scratch = std::move(scratch);
  const fs::path given(path);
  const bool folder = fs::is_directory(given) || given.filename() == kModelCardFile || given.filename() == kWeightsFile;
  if (folder) {
    impl_->card = read_model_card(path, "--model");
    impl_->net = load_model(path, *impl_->card, registry, "--model");
    registry.require(PluginKind::kDataset, impl_->card->dataset_plugin, "--model: model.json: dataset.plugin");
    if (impl_->card->dataset_fitted.contains("standardization"))
      impl_->standardization = Standardization::from_json(impl_->card->dataset_fitted["standardization"],
                                                          "--model: model.json: dataset.fitted.standardization");
    impl_->classes = impl_->card->class_names;
    impl_->features = impl_->card->feature_names;
    impl_->input_shape = impl_->card->input_shape;
    return;
  }
  if (!fs::is_regular_file(given))
    throw ConfigError("--model", path + " is neither a model folder nor a TorchScript file (lepton export writes both)");
  try {
    impl_->module = torch::jit::load(path);
  } catch (const std::exception& e) {
    throw ConfigError("--model", path + " is not a TorchScript file: " + std::string(e.what()).substr(0, 200));
  }
  impl_->module->eval();
  auto& m = *impl_->module;
  if (!m.hasattr("class_names") || !m.hasattr("input_shape"))
    throw ConfigError("--model", path + " has no class_names or input_shape: export it with lepton export --format torchscript");
  for (const auto& c : m.attr("class_names").toListRef()) impl_->classes.push_back(c.toStringRef());
  for (const auto& d : m.attr("input_shape").toListRef()) impl_->input_shape.push_back(d.toInt());
  if (m.hasattr("feature_names"))
    for (const auto& f : m.attr("feature_names").toListRef()) impl_->features.push_back(f.toStringRef());
  if (m.hasattr("lepton")) impl_->about = json::parse(m.attr("lepton").toStringRef(), nullptr, false);
}

ServedModel::~ServedModel() = default;

const std::vector<std::string>& ServedModel::class_names() const { return impl_->classes; }

json ServedModel::describe() const {
  const Impl& m = *impl_;
  json out = {{"name", name_},
              {"path", m.path},
              {"format", m.card ? "folder" : "torchscript"},
              {"classes", m.classes},
              {"input_shape", m.input_shape},
              {"feature_names", m.features}};
  json inputs = {"rows", "records"};
  if (m.card) {
    out["model"] = {{"plugin", m.card->model_plugin}, {"params", m.card->model_params}};
    out["dataset"] = {{"plugin", m.card->dataset_plugin}};
    out["trial"] = m.card->provenance;
    inputs.push_back("file");
    if (m.card->dataset_plugin == "images") inputs.push_back("images");
  } else if (m.about.is_object()) {
    out["model"] = m.about.value("model", json::object());
    out["trial"] = m.about.value("provenance", json::object());
  }
  out["inputs"] = inputs;
  return out;
}

at::Tensor ServedModel::samples(const ModelInput& input) const {
  Impl& m = *impl_;
  using Kind = ModelInput::Kind;
  if (input.kind == Kind::kRows || input.kind == Kind::kRecords) {
    const std::string field = input.kind == Kind::kRows ? "rows" : "records";
    if (!input.rows.is_array() || input.rows.empty()) throw BadRequest(400, field, "expected a non-empty array");
    if (input.kind == Kind::kRecords)
      for (std::size_t i = 0; i < input.rows.size(); ++i)
        if (!input.rows[i].is_object())
          throw BadRequest(400, field + "[" + std::to_string(i) + "]", "expected an object of column: value, got " + type_name(input.rows[i]));
    if (m.reads_tables()) {
      const auto file = m.scratch_for(".csv");
      write_file(file.path, m.table_text(input));
      return m.read(file.path.string(), field, static_cast<std::int64_t>(input.rows.size()));
    }
    const auto x = numeric_samples(input, m.input_shape, m.features);
    return m.standardization ? m.standardization->apply(x) : x;
  }
  if (!m.card)
    throw BadRequest(415, "body", "a TorchScript file takes \"rows\" or \"records\" of numbers; serve the exported model "
                                  "folder to send files or images");
  if (input.kind == Kind::kFile) {
    const auto file = m.scratch_for(input.extension);
    write_file(file.path, input.files.at(0));
    return m.read(file.path.string(), "body");
  }
  if (input.files.empty()) throw BadRequest(400, "images", "expected at least one image");
  const auto folder = m.scratch_for("");
  fs::create_directories(folder.path);
  for (std::size_t i = 0; i < input.files.size(); ++i) {
    const std::string extension = image_extension(input.files[i]);
    if (extension.empty())
      throw BadRequest(400, "images[" + std::to_string(i) + "]", "is not a PNG, JPEG, GIF or BMP image");
    char stem[16];
    std::snprintf(stem, sizeof stem, "%06zu", i);  // names sort in the request's order
    write_file(folder.path / (stem + extension), input.files[i]);
  }
  return m.read(folder.path.string(), "images", static_cast<std::int64_t>(input.files.size()));
}

at::Tensor ServedModel::probabilities(const at::Tensor& samples) const {
  torch::NoGradGuard no_grad;
  if (impl_->net) return torch::softmax(predict_logits(*impl_->net, samples).to(torch::kFloat64), 1);
  return impl_->module->forward({samples.to(torch::kFloat32)}).toTensor().to(torch::kFloat64);
}

}  // namespace lepton::engine
