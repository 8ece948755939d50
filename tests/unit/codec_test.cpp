// Encoding of inputs, outputs, errors and timestamps as other DBOS SDKs store them.
#include "serialization/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "dbos/dbos.hpp"
#include "serialization/formats.hpp"

namespace dbos {
namespace {

using serialization::DecodeError;
using serialization::DecodeWorkflowInput;
using serialization::EncodeError;
using serialization::EncodeWorkflowInput;

TEST(Codec, InputEnvelopeIsPortable) {
  EXPECT_EQ(nlohmann::json::parse(EncodeWorkflowInput({{"a", 1}})),
            nlohmann::json::parse(R"({"positionalArgs":[{"a":1}],"namedArgs":{}})"));
  EXPECT_EQ(DecodeWorkflowInput(std::string(R"({"positionalArgs":["x"],"namedArgs":{}})")), "x");
  // Listings show an input that does not hold exactly one argument as stored.
  EXPECT_EQ(DecodeWorkflowInput(std::string(R"({"positionalArgs":[1,2],"namedArgs":{}})"),
                                std::string("portable_json")),
            nlohmann::json::parse(R"({"positionalArgs":[1,2],"namedArgs":{}})"));
  EXPECT_EQ(DecodeWorkflowInput(std::string("gASV"), std::string("py_pickle")), "gASV");
  EXPECT_TRUE(DecodeWorkflowInput(std::nullopt).is_null());
}

TEST(Codec, ErrorsRecordNameMessageAndDbosCode) {
  serialization::ErrorRecord record;
  try {
    throw std::out_of_range("index 9");
  } catch (...) {
    record = serialization::CaptureCurrentException();
  }
  EXPECT_EQ(record.name, "std::out_of_range");
  EXPECT_EQ(record.message, "index 9");
  EXPECT_FALSE(record.dbos_code);
  const auto round = DecodeError(EncodeError(record));
  EXPECT_EQ(round.name, record.name);
  EXPECT_EQ(round.message, record.message);

  try {
    throw DBOSError(ErrorCode::Timeout, "too slow");
  } catch (...) {
    record = serialization::CaptureCurrentException();
  }
  EXPECT_EQ(record.name, "Timeout");
  EXPECT_EQ(record.dbos_code, 16);
  EXPECT_EQ(nlohmann::json::parse(EncodeError(record)),
            nlohmann::json::parse(R"({"name":"Timeout","message":"too slow","code":16})"));
}

TEST(Codec, ErrorsWrittenByOtherSdksDecode) {
  auto record = DecodeError(R"({"name":"TypeError","message":"x is undefined"})");
  EXPECT_EQ(record.name, "TypeError");
  EXPECT_EQ(record.message, "x is undefined");
  record = DecodeError("plain text error");
  EXPECT_EQ(record.name, "Error");
  EXPECT_EQ(record.message, "plain text error");
  // A foreign "code" that is not a DBOS code name does not become a DBOS error.
  record = DecodeError(R"({"name":"PgError","message":"m","code":23505})");
  EXPECT_FALSE(record.dbos_code);
}

// The message of the DBOSError `fn` throws (fails the test when it throws none).
template <typename Fn>
std::string ErrorMessage(Fn&& fn) {
  try {
    fn();
  } catch (const DBOSError& e) {
    EXPECT_EQ(e.Code(), ErrorCode::InvalidOption);
    return e.Message();
  }
  ADD_FAILURE() << "no DBOSError thrown";
  return "";
}

using serialization::DecodeValue;
using serialization::DecodeWorkflowArgument;
using Text = std::optional<std::string>;

TEST(Codec, ValuesAreReadByTheirSerialization) {
  const nlohmann::json expected = {{"from", "go"}, {"n", 2}};
  EXPECT_EQ(DecodeValue(Text(R"({"from":"go","n":2})"), Text("portable_json")), expected);
  EXPECT_EQ(DecodeValue(Text(R"({"from":"go","n":2})"), std::nullopt), expected);
  // DBOS Go's default: base64 of JSON, and a sentinel for nil.
  EXPECT_EQ(DecodeValue(Text("eyJmcm9tIjoiZ28iLCJuIjoyfQ=="), Text("DBOS_JSON")), expected);
  EXPECT_TRUE(DecodeValue(Text("__DBOS_NIL"), Text("DBOS_JSON")).is_null());
  // DBOS TypeScript's default: the json part of a marked superjson record.
  EXPECT_EQ(DecodeValue(Text(R"({"json":{"from":"go","n":2},"meta":{"values":{}},)"
                             R"("__dbos_serializer":"superjson"})"),
                        Text("js_superjson")),
            expected);
  EXPECT_TRUE(
      DecodeValue(Text(R"({"__dbos_serializer":"superjson"})"), Text("js_superjson")).is_null());
  EXPECT_TRUE(DecodeValue(std::nullopt, Text("js_superjson")).is_null());
}

TEST(Codec, UnreadableSerializationsAreNamed) {
  const auto message =
      ErrorMessage([] { DecodeValue(Text("gASVBQAAAAAAAAB9lC4="), Text("py_pickle"), "message"); });
  EXPECT_NE(message.find("message"), std::string::npos) << message;
  EXPECT_NE(message.find("'py_pickle'"), std::string::npos) << message;
  EXPECT_NE(message.find("portable_json"), std::string::npos) << message;
  EXPECT_FALSE(serialization::IsReadableFormat(Text("py_pickle")));
  EXPECT_TRUE(serialization::IsReadableFormat(std::nullopt));
  EXPECT_TRUE(serialization::IsReadableFormat(Text("js_superjson")));
  // Text that is not valid in its declared format says which format it claimed.
  EXPECT_NE(
      ErrorMessage([] { DecodeValue(Text("not base64!"), Text("DBOS_JSON")); }).find("DBOS_JSON"),
      std::string::npos);
  EXPECT_NE(ErrorMessage([] {
              DecodeValue(Text(R"({"json":1})"), Text("js_superjson"));
            }).find("superjson marker"),
            std::string::npos);
}

TEST(Codec, Base64) {
  EXPECT_EQ(serialization::DecodeBase64("Nw=="), "7");
  EXPECT_EQ(serialization::DecodeBase64("ImhpIg=="), "\"hi\"");
  EXPECT_EQ(serialization::DecodeBase64("ImhpIg"), "\"hi\"");
  EXPECT_EQ(serialization::DecodeBase64(""), "");
  EXPECT_FALSE(serialization::DecodeBase64("a"));
  EXPECT_FALSE(serialization::DecodeBase64("ab$d"));
}

TEST(Codec, WorkflowArgumentCountIsChecked) {
  EXPECT_EQ(DecodeWorkflowArgument(Text(R"({"positionalArgs":["x"],"namedArgs":{}})"),
                                   Text("portable_json"), "Wf"),
            "x");
  EXPECT_EQ(DecodeWorkflowArgument(Text(R"({"json":[{"a":1}],"__dbos_serializer":"superjson"})"),
                                   Text("js_superjson"), "Wf"),
            nlohmann::json({{"a", 1}}));
  EXPECT_EQ(DecodeWorkflowArgument(Text("Nw=="), Text("DBOS_JSON"), "Wf"), 7);
  // Legacy rows without a serialization: the envelope, or else the value itself.
  EXPECT_EQ(DecodeWorkflowArgument(Text(R"({"positionalArgs":[3]})"), std::nullopt, "Wf"), 3);
  EXPECT_EQ(DecodeWorkflowArgument(Text("4"), std::nullopt, "Wf"), 4);

  auto two = ErrorMessage([] {
    DecodeWorkflowArgument(Text(R"({"positionalArgs":["a","b"],"namedArgs":{}})"),
                           Text("portable_json"), "Greet");
  });
  EXPECT_NE(two.find("'Greet'"), std::string::npos) << two;
  EXPECT_NE(two.find("2 positional arguments"), std::string::npos) << two;
  auto none = ErrorMessage([] {
    DecodeWorkflowArgument(Text(R"({"positionalArgs":[],"namedArgs":{}})"), Text("portable_json"),
                           "Greet");
  });
  EXPECT_NE(none.find("0 positional arguments"), std::string::npos) << none;
  auto named = ErrorMessage([] {
    DecodeWorkflowArgument(Text(R"({"positionalArgs":[1],"namedArgs":{"who":"x"}})"),
                           Text("portable_json"), "Greet");
  });
  EXPECT_NE(named.find("1 named argument (who)"), std::string::npos) << named;
  auto ts_two = ErrorMessage([] {
    DecodeWorkflowArgument(Text(R"({"json":[1,2],"__dbos_serializer":"superjson"})"),
                           Text("js_superjson"), "Greet");
  });
  EXPECT_NE(ts_two.find("2 positional arguments"), std::string::npos) << ts_two;
  auto not_envelope =
      ErrorMessage([] { DecodeWorkflowArgument(Text("[1]"), Text("portable_json"), "Greet"); });
  EXPECT_NE(not_envelope.find("positionalArgs"), std::string::npos) << not_envelope;
}

TEST(Codec, NonFiniteNumbersAreRefusedWhenEncoding) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  auto message = ErrorMessage([&] { serialization::EncodeValue(nan); });
  EXPECT_NE(message.find("NaN"), std::string::npos) << message;
  message = ErrorMessage([&] {
    serialization::EncodeValue({{"a", nlohmann::json::array({1.5, -inf})}});
  });
  EXPECT_NE(message.find("-Infinity"), std::string::npos) << message;
  EXPECT_NE(message.find("'/a/1'"), std::string::npos) << message;
  ErrorMessage([&] { serialization::EncodeWorkflowInput({{"x", inf}}); });
  EXPECT_EQ(serialization::EncodeValue({{"a", 1.5}}), R"({"a":1.5})");
}

TEST(Codec, ErrorsAreReadByTheirSerialization) {
  auto record = DecodeError(R"({"json":{"name":"TypeError","message":"boom","stack":"at x"},)"
                            R"("__dbos_serializer":"superjson"})",
                            Text("js_superjson"));
  EXPECT_EQ(record.name, "TypeError");
  EXPECT_EQ(record.message, "boom");
  record = DecodeError(R"({"name":"Timeout","message":"late","code":16})", Text("portable_json"));
  EXPECT_EQ(record.dbos_code, 16);
  record = DecodeError("gASV", Text("java_jackson"));
  EXPECT_NE(record.message.find("'java_jackson'"), std::string::npos) << record.message;
}

TEST(Codec, TimestampsAreRfc3339) {
  using namespace std::chrono;
  const system_clock::time_point t =
      system_clock::time_point(seconds(1700000000)) + microseconds(123456);
  EXPECT_EQ(FormatTimestamp(t), "2023-11-14T22:13:20.123456000Z");
  EXPECT_EQ(ParseTimestamp("2023-11-14T22:13:20.123456Z"), t);
  EXPECT_EQ(ParseTimestamp("2023-11-14T23:13:20.123456+01:00"), t);
  nlohmann::json j = t;
  EXPECT_EQ(j.get<system_clock::time_point>(), t);
  EXPECT_THROW(ParseTimestamp("yesterday"), DBOSError);
}

TEST(Errors, WhatCarriesCodeNameAndMessage) {
  DBOSError e(ErrorCode::UnexpectedStep, "step 3 changed", "wf-1");
  EXPECT_STREQ(e.what(), "DBOS Error UnexpectedStep: step 3 changed");
  EXPECT_EQ(e.WorkflowID(), "wf-1");
  ErrorCode code{};
  EXPECT_TRUE(ParseErrorCode("InvalidOption", code));
  EXPECT_EQ(code, ErrorCode::InvalidOption);
  EXPECT_EQ(static_cast<int>(ErrorCode::InvalidOption), 20);
  EXPECT_FALSE(ParseErrorCode("Nope", code));
}

TEST(StatusStrings, RoundTrip) {
  for (auto s : {WorkflowStatusType::Pending, WorkflowStatusType::Enqueued,
                 WorkflowStatusType::Success, WorkflowStatusType::Error,
                 WorkflowStatusType::Cancelled, WorkflowStatusType::MaxRecoveryAttemptsExceeded}) {
    EXPECT_EQ(ParseWorkflowStatusType(ToString(s)), s);
  }
  EXPECT_EQ(ToString(WorkflowStatusType::MaxRecoveryAttemptsExceeded),
            "MAX_RECOVERY_ATTEMPTS_EXCEEDED");
}

}  // namespace
}  // namespace dbos
