// Encoding of inputs, outputs, errors and timestamps as other DBOS SDKs store them.
#include "serialization/codec.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "dbos/dbos.hpp"

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
  EXPECT_TRUE(
      DecodeWorkflowInput(std::string(R"({"positionalArgs":[],"namedArgs":{}})")).is_null());
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
