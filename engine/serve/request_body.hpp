// A prediction request's body, by its Content-Type, as what the model reads: JSON rows, records or
// base64 images; a data file (CSV, ARFF); a raw image; or multipart form files.
#pragma once

#include "serve/served_model.hpp"

#include <string>
#include <utility>
#include <vector>

namespace lepton::engine {

/// One file of a multipart/form-data body: its file name, Content-Type and bytes.
struct FormFile {
  std::string filename, content_type, content;
};

/// Reads a request body. Throws BadRequest: 400 naming the field for malformed JSON or a wrong
/// field, 415 for a Content-Type no model reads.
ModelInput read_body(const std::string& content_type, const std::string& body, const std::vector<FormFile>& files);

/// Decodes base64 (standard alphabet, padded; a "data:...;base64," prefix and line breaks are
/// allowed). Throws BadRequest at `field` for anything else.
std::string decode_base64(const std::string& text, const std::string& field);

}  // namespace lepton::engine
