// Encoding of values and errors as they are stored in the system database (`portable_json`):
// a workflow's input is {"positionalArgs":[input],"namedArgs":{}}, outputs are plain JSON, and
// errors are {"name":…,"message":…} (+ "code" for DBOS errors), which every DBOS SDK can read.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dbos/errors.hpp"

namespace dbos::serialization {

/// Wraps a workflow input in the portable envelope and encodes it as text.
std::string EncodeWorkflowInput(const nlohmann::json& input);
/// Extracts the input from an envelope (the single positional argument; null when there is none).
/// Text that is not an envelope is returned as decoded JSON.
nlohmann::json DecodeWorkflowInput(const std::optional<std::string>& text);

/// Encodes a value as JSON text.
std::string EncodeValue(const nlohmann::json& value);
/// Decodes JSON text; a NULL column or unparsable text gives null / the raw string.
nlohmann::json DecodeValue(const std::optional<std::string>& text);

/// A recorded exception.
struct ErrorRecord {
  std::string name;              ///< Exception type name, or the DBOS error code name.
  std::string message;           ///< what().
  std::optional<int> dbos_code;  ///< Set when the exception was a DBOSError.
};

/// Records the exception currently being handled (call inside a catch block).
ErrorRecord CaptureCurrentException();
/// Encodes an error record as JSON text.
std::string EncodeError(const ErrorRecord& record);
/// Decodes an error column; text that is not a JSON object becomes {name:"Error", message:text}.
ErrorRecord DecodeError(const std::string& text);

}  // namespace dbos::serialization
