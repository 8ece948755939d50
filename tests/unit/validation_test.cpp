// The API's input checks: names (IDs, keys, topics, queue names) are UTF-8 without NUL bytes and
// at most kMaxNameBytes long; text inside values is UTF-8; waits are limited to [0, kMaxWait].
#include "core/validation.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "dbos/dbos.hpp"
#include "serialization/utf8.hpp"

namespace {
using dbos::DBOSError;
using dbos::ErrorCode;
using namespace dbos::detail;

ErrorCode CodeOf(const std::string& value, bool allow_empty = true) {
  try {
    ValidateName("name", value, allow_empty);
  } catch (const DBOSError& e) {
    return e.Code();
  }
  return ErrorCode::ConflictingID;  // stands for "accepted"
}

TEST(Validation, Names) {
  EXPECT_EQ(CodeOf("order-7 ✓"), ErrorCode::ConflictingID);
  EXPECT_EQ(CodeOf(""), ErrorCode::ConflictingID);
  EXPECT_EQ(CodeOf("", /*allow_empty=*/false), ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf(std::string("a\0x", 3)), ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf("bad\xff"), ErrorCode::InvalidOption);
  EXPECT_EQ(CodeOf(std::string(kMaxNameBytes, 'x')), ErrorCode::ConflictingID);
  EXPECT_EQ(CodeOf(std::string(kMaxNameBytes + 1, 'x')), ErrorCode::InvalidOption);
}

// Names and values are checked with the scanner that also makes outcomes storable.
TEST(Validation, Utf8) {
  EXPECT_EQ(dbos::serialization::FindInvalidUtf8("plain"), std::nullopt);
  EXPECT_EQ(dbos::serialization::FindInvalidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
            std::nullopt);
  EXPECT_EQ(dbos::serialization::FindInvalidUtf8("ok\xc0\xaf"), 2U);        // overlong '/'
  EXPECT_EQ(dbos::serialization::FindInvalidUtf8("\xed\xa0\x80"), 0U);      // a UTF-16 surrogate
  EXPECT_EQ(dbos::serialization::FindInvalidUtf8("\xf4\x90\x80\x80"), 0U);  // above U+10FFFF
  EXPECT_EQ(dbos::serialization::FindInvalidUtf8("ab\xe2\x82"), 2U);        // truncated
}

TEST(Validation, JsonText) {
  EXPECT_NO_THROW(ValidateJsonText("value", nlohmann::json{{"k", {"v", 1, nullptr}}}));
  EXPECT_THROW(ValidateJsonText("value", nlohmann::json{{"k", {"v", "\xff"}}}), DBOSError);
  EXPECT_THROW(ValidateJsonText("value", nlohmann::json{{"\xff", 1}}), DBOSError);
}

TEST(Validation, WaitsAreClamped) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ClampWait(milliseconds::max()), kMaxWait);
  EXPECT_EQ(ClampWait(milliseconds(-5)), milliseconds(0));
  EXPECT_EQ(ClampWait(milliseconds(250)), milliseconds(250));
}

}  // namespace
