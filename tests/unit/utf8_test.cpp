// UTF-8 validation and repair of text about to be stored (serialization/utf8.hpp).
#include "serialization/utf8.hpp"

#include <gtest/gtest.h>

namespace dbos::serialization {
namespace {

TEST(Utf8Test, ValidTextOfEveryLengthPasses) {
  EXPECT_EQ(FindInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::nullopt);
}

TEST(Utf8Test, FindsTheFirstInvalidByte) {
  EXPECT_EQ(FindInvalidUtf8("ab\xFF"), 2u);            // never valid
  EXPECT_EQ(FindInvalidUtf8("a\x80"), 1u);             // lone continuation byte
  EXPECT_EQ(FindInvalidUtf8("caf\xC3"), 3u);           // truncated sequence
  EXPECT_EQ(FindInvalidUtf8("\xC0\x80"), 0u);          // overlong NUL
  EXPECT_EQ(FindInvalidUtf8("\xE0\x80\x80"), 0u);      // overlong 3-byte form
  EXPECT_EQ(FindInvalidUtf8("x\xED\xA0\x80"), 1u);     // UTF-16 surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // beyond U+10FFFF
}

TEST(Utf8Test, SanitizeReplacesEachInvalidByteAndKeepsValidText) {
  EXPECT_EQ(SanitizeUtf8("bad \xFF byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(SanitizeUtf8("caf\xC3"), "caf\xEF\xBF\xBD");
  EXPECT_EQ(SanitizeUtf8("\xE2\x82\xAC"), "\xE2\x82\xAC");
  EXPECT_EQ(FindInvalidUtf8(SanitizeUtf8("\xC0\x80\xED\xA0\x80")), std::nullopt);
}

TEST(Utf8Test, DescribesWhereInAJsonValueTheBadTextIs) {
  nlohmann::json value = {{"ok", "fine"}, {"items", {"a", std::string("b\xFE")}}};
  EXPECT_EQ(DescribeInvalidUtf8(value),
            "the string at /items/1 has the invalid byte 0xfe at offset 1");
  EXPECT_EQ(DescribeInvalidUtf8(nlohmann::json{{std::string("k\xFF"), 1}}),
            "the object key at / has the invalid byte 0xff at offset 1");
  EXPECT_EQ(DescribeInvalidUtf8(nlohmann::json{{"a/b", {1, 2}}}), std::nullopt);
  EXPECT_EQ(DescribeInvalidUtf8(std::string("\xFF")),
            "the string at / has the invalid byte 0xff at offset 0");
}

}  // namespace
}  // namespace dbos::serialization
