// Request bodies into model inputs. Errors name the field a client has to fix.
#include "serve/request_body.hpp"

#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>

#include <algorithm>
#include <cctype>

namespace lepton::engine {

namespace {

// The media type alone, lower case: "text/csv; charset=utf-8" -> "text/csv".
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }), type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

bool is_image_type(const std::string& type) { return type.rfind("image/", 0) == 0; }

// A data file's extension for its media type; "" when it is no data file.
std::string file_extension(const std::string& type, const std::string& filename = {}) {
  if (type == "text/csv" || type == "text/plain" || type == "application/csv") return ".csv";
  if (type == "application/gzip" || type == "application/x-gzip") return ".csv.gz";
  if (type == "text/x-arff" || type == "application/x-arff") return ".arff";
  const auto dot = filename.rfind('.');
  if (dot != std::string::npos) {
    const std::string extension = filename.substr(dot);
    if (extension == ".csv" || extension == ".arff" || extension == ".gz" || extension == ".tsv") return extension;
  }
  return "";
}

ModelInput read_json(const std::string& body) {
  const json document = json::parse(body, nullptr, false);
  if (document.is_discarded()) {
    // Parse again to get the parser's own account of where the text breaks.
    std::string why;
    try {
      (void)json::parse(body);
    } catch (const json::parse_error& e) {
      why = e.what();
      if (const auto at = why.find("parse error"); at != std::string::npos) why = why.substr(at);
    }
    throw BadRequest(400, "body", "malformed JSON: " + why);
  }
  if (!document.is_object())
    throw BadRequest(400, "body", "expected a JSON object such as {\"rows\": [[...], ...]}, got " + document.dump().substr(0, 40));
  ModelInput input;
  int forms = 0;
  for (const auto& [key, value] : document.items()) {
    if (key == "rows" || key == "records") {
      input.kind = key == "rows" ? ModelInput::Kind::kRows : ModelInput::Kind::kRecords;
      if (!value.is_array()) throw BadRequest(400, key, "expected an array, got " + value.dump().substr(0, 40));
      input.rows = value;
    } else if (key == "images" || key == "image") {
      input.kind = ModelInput::Kind::kImages;
      const json list = key == "image" ? json::array({value}) : value;
      if (!list.is_array()) throw BadRequest(400, key, "expected an array of base64 strings");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = key == "image" ? key : key + "[" + std::to_string(i) + "]";
        if (!list[i].is_string()) throw BadRequest(400, at, "expected a base64 string");
        input.files.push_back(decode_base64(list[i].get<std::string>(), at));
      }
    } else {
      throw BadRequest(400, key, "unknown field; expected one of rows, records, images");
    }
    ++forms;
  }
  if (forms != 1)
    throw BadRequest(400, "body", "expected exactly one of \"rows\" (arrays of values), \"records\" (objects of column: "
                                  "value) or \"images\" (base64 strings)");
  return input;
}

}  // namespace

std::string decode_base64(const std::string& given, const std::string& field) {
  std::string text = given.rfind("data:", 0) == 0 && given.find(',') != std::string::npos ? given.substr(given.find(',') + 1) : given;
  text.erase(std::remove_if(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); }), text.end());
  const auto valid = [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '/'; };
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (text.empty() || text.size() % 4 != 0 ||
      !std::all_of(text.begin(), text.end() - static_cast<std::ptrdiff_t>(padding), valid))
    throw BadRequest(400, field, "is not base64 (standard alphabet, padded with '=')");
  std::fill(text.end() - static_cast<std::ptrdiff_t>(padding), text.end(), 'A');
  using namespace boost::archive::iterators;
  using Decoder = transform_width<binary_from_base64<std::string::const_iterator>, 8, 6>;
  std::string bytes(Decoder(text.cbegin()), Decoder(text.cend()));
  bytes.resize(bytes.size() - padding);
  return bytes;
}

ModelInput read_body(const std::string& content_type, const std::string& body, const std::vector<FormFile>& files) {
  const std::string type = media_type(content_type);
  if (type == "multipart/form-data") {
    if (files.empty()) throw BadRequest(400, "body", "the form holds no files");
    ModelInput input;
    if (files.size() == 1) {
      if (const auto extension = file_extension(media_type(files[0].content_type), files[0].filename); !extension.empty()) {
        input.kind = ModelInput::Kind::kFile;
        input.extension = extension;
        input.files = {files[0].content};
        return input;
      }
    }
    input.kind = ModelInput::Kind::kImages;
    for (const auto& f : files) input.files.push_back(f.content);
    return input;
  }
  // A JSON object sent without its type (curl -d says application/x-www-form-urlencoded) is read as JSON.
  const bool object = !body.empty() && body.front() == '{';
  if (type == "application/json" || (object && (type.empty() || type == "application/x-www-form-urlencoded")))
    return read_json(body);
  if (body.empty()) throw BadRequest(400, "body", "the request has no body");
  if (is_image_type(type)) {
    ModelInput input;
    input.kind = ModelInput::Kind::kImages;
    input.files = {body};
    return input;
  }
  if (const auto extension = file_extension(type); !extension.empty()) {
    ModelInput input;
    input.kind = ModelInput::Kind::kFile;
    input.extension = extension;
    input.files = {body};
    return input;
  }
  throw BadRequest(415, "Content-Type",
                   "cannot read \"" + content_type + "\"; send application/json ({\"rows\": ...}, {\"records\": ...} or "
                   "{\"images\": [base64, ...]}), text/csv, an image/png or image/jpeg body, or multipart/form-data files");
}

}  // namespace lepton::engine
