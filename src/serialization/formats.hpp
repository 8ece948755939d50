// The value formats other DBOS SDKs write into `serialization`-tagged columns, and how this library
// reads each. The library writes only `portable_json`; it reads:
// - `portable_json` and NULL (rows written before the column existed): plain JSON;
// - `DBOS_JSON` (DBOS Go's default): base64 of JSON, with the text `__DBOS_NIL` for a nil value;
// - `js_superjson` (DBOS TypeScript's default): the `json` part of a superjson record (the `meta`
//   part, which restores JavaScript types such as Date or Map, has no C++ counterpart).
// Any other format (Python's pickle, Java's Jackson, custom serializers) is refused with a
// DBOSError that names it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dbos::serialization {

/// Plain JSON, readable by every DBOS SDK; the only format this library writes.
inline constexpr std::string_view kPortableJsonFormat = "portable_json";
/// DBOS Go's default serializer.
inline constexpr std::string_view kGoJsonFormat = "DBOS_JSON";
/// DBOS TypeScript's default serializer.
inline constexpr std::string_view kSuperjsonFormat = "js_superjson";

/// The non-NULL serialization names this library can read.
const std::vector<std::string>& ReadableFormats();

/// True when `format` is NULL or one of ReadableFormats().
bool IsReadableFormat(const std::optional<std::string>& format);

/// Parses `text` written in `format` into JSON. Throws DBOSError(InvalidOption) for a format this
/// library cannot read (the message names it and says to send portable values), or for text that
/// is not valid in its format (the message names the format and what was wrong). `what` names the
/// value in messages ("message", "event", "input", …).
nlohmann::json ParseStored(const std::string& text, const std::optional<std::string>& format,
                           std::string_view what);

/// Throws the DBOSError(InvalidOption) ParseStored throws for a format it cannot read.
[[noreturn]] void ThrowUnreadableFormat(const std::string& format, std::string_view what);

/// Decodes standard base64 (RFC 4648, with or without padding); nullopt when `text` is not
/// base64.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace dbos::serialization
