// The public headers stay free of internals: no "Internal:" members, no forward declarations of
// the library's own types, and includes limited to the standard library, nlohmann/json and other
// dbos/ headers. The test reads the headers of this checkout (DBOS_PUBLIC_INCLUDE_DIR).
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dbos/dbos.hpp"

namespace {

struct Header {
  std::string path;
  std::string text;
};

std::vector<Header> PublicHeaders() {
  std::vector<Header> headers;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(DBOS_PUBLIC_INCLUDE_DIR)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".hpp") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    headers.push_back({entry.path().string(), text.str()});
  }
  return headers;
}

TEST(PublicHeaders, FoundTheHeaders) { EXPECT_GE(PublicHeaders().size(), 10U); }

TEST(PublicHeaders, NoInternalMembers) {
  for (const auto& header : PublicHeaders()) {
    EXPECT_EQ(header.text.find("Internal:"), std::string::npos) << header.path;
  }
}

// True when `word` occurs in `text` as a whole identifier.
bool NamesIdentifier(const std::string& text, const std::string& word) {
  auto identifier_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !identifier_char(text[at - 1]);
    const size_t after = at + word.size();
    const bool ends = after == text.size() || !identifier_char(text[after]);
    if (starts && ends) return true;
  }
  return false;
}

TEST(PublicHeaders, NoInternalTypesNamed) {
  for (const auto& header : PublicHeaders()) {
    for (const char* type : {"Runtime", "WorkflowState", "LifetimeGuard", "CancelScope"}) {
      EXPECT_FALSE(NamesIdentifier(header.text, type)) << header.path << " names " << type;
    }
  }
}

TEST(PublicHeaders, IncludeOnlyStandardJsonAndDbos) {
  for (const auto& header : PublicHeaders()) {
    std::istringstream lines(header.text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("#include", 0) != 0) continue;
      const size_t open = line.find_first_of("<\"");
      const size_t close = line.find_first_of(">\"", open + 1);
      ASSERT_NE(close, std::string::npos) << header.path << ": " << line;
      const char kind = line[open];
      const std::string name = line.substr(open + 1, close - open - 1);
      const bool standard = kind == '<' && name.find_first_of("/.") == std::string::npos;
      const bool json = kind == '<' && name.rfind("nlohmann/", 0) == 0;
      const bool dbos = kind == '"' && name.rfind("dbos/", 0) == 0;
      EXPECT_TRUE(standard || json || dbos) << header.path << " includes " << name;
    }
  }
}

// DBOSContext is an opaque handle: copyable, default-constructible, and nothing else public.
TEST(PublicHeaders, ContextIsACheapOpaqueHandle) {
  static_assert(std::is_nothrow_default_constructible_v<dbos::DBOSContext>);
  static_assert(std::is_copy_constructible_v<dbos::DBOSContext>);
  EXPECT_EQ(sizeof(dbos::DBOSContext), sizeof(std::shared_ptr<int>));
}

}  // namespace
