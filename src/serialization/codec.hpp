// Encoding of values and errors as they are stored in the system database (`portable_json`):
// a workflow's input is {"positionalArgs":[input],"namedArgs":{}}, outputs are plain JSON, and
// errors are {"name":…,"message":…} (+ "code" for DBOS errors), which every DBOS SDK can read.
// Reading takes the row's `serialization` column into account (formats.hpp), so values written
// by DBOS Go and DBOS TypeScript with their default serializers are read as well.
//
// NaN and infinities have no JSON spelling (nlohmann::json would write null, which reads back as
// another value): encoding such a value throws DBOSError(InvalidOption), so the first run fails
// the same way every replay would, instead of succeeding once and failing on replay.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dbos/errors.hpp"

namespace dbos::serialization {

/// Wraps a workflow input in the portable envelope and encodes it as text. Throws like
/// CheckRepresentable.
std::string EncodeWorkflowInput(const nlohmann::json& input);
/// For listings (never throws): the one argument of a stored input as DecodeWorkflowArgument
/// reads it, or else the stored input as DecodeValueOrText shows it.
nlohmann::json DecodeWorkflowInput(const std::optional<std::string>& text,
                                   const std::optional<std::string>& serialization = std::nullopt);
/// Extracts the one argument a workflow of this library takes from its stored input, written in
/// `serialization` (portable envelope, DBOS Go's single value, or DBOS TypeScript's argument
/// array). Throws DBOSError(InvalidOption) naming `workflow_name` when the input does not carry
/// exactly one positional argument and no named ones, or cannot be read (see ParseStored).
nlohmann::json DecodeWorkflowArgument(const std::optional<std::string>& text,
                                      const std::optional<std::string>& serialization,
                                      const std::string& workflow_name);

/// Throws DBOSError(InvalidOption) when `value` holds NaN or an infinity (naming where), which
/// portable JSON cannot represent.
void CheckRepresentable(const nlohmann::json& value);
/// Encodes a value as JSON text. Throws like CheckRepresentable.
std::string EncodeValue(const nlohmann::json& value);
/// Decodes JSON text; a NULL column or unparsable text gives null / the raw string.
nlohmann::json DecodeValue(const std::optional<std::string>& text);
/// For listings (never throws): DecodeValue, or the stored text itself when it cannot be read.
nlohmann::json DecodeValueOrText(const std::optional<std::string>& text,
                                 const std::optional<std::string>& serialization);
/// Decodes a value stored in `serialization` (NULL: as DecodeValue(text)). A NULL text gives
/// null. Throws DBOSError(InvalidOption) for a serialization this library cannot read, or text
/// that is not valid in it; `what` names the value in that message ("message", "event", …).
nlohmann::json DecodeValue(const std::optional<std::string>& text,
                           const std::optional<std::string>& serialization,
                           std::string_view what = "value");

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
/// Decodes an error column written in `serialization` (DBOS TypeScript's serialized errors carry
/// name and message too). Never throws: an error in a serialization this library cannot read
/// becomes {name:"Error", message: what happened and which serialization it was}.
ErrorRecord DecodeError(const std::string& text, const std::optional<std::string>& serialization);

}  // namespace dbos::serialization
