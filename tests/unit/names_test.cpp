// Default names do not depend on the compiler, the standard library's ABI or the build type: ABI
// tags and inline namespaces are removed, and lambdas (named differently by GCC and Clang) get a
// fixed name. The strings below are what each compiler's symbols demangle to.
#include <gtest/gtest.h>

#include <string>

#include "core/error_messages.hpp"
#include "dbos/dbos.hpp"
#include "runtime/symbols.hpp"

namespace dbos::testing::names_fns {
struct NamedStep {
  int operator()() const { return 1; }
};
}  // namespace dbos::testing::names_fns

namespace {
using dbos::detail::CanonicalName;
using dbos::detail::IsUnnamedType;

TEST(Names, AbiTagsAndInlineNamespacesAreRemoved) {
  EXPECT_EQ(CanonicalName("app::SleepWorkflow[abi:cxx11]"), "app::SleepWorkflow");
  EXPECT_EQ(CanonicalName("app::Make[abi:cxx11]<int>"), "app::Make<int>");
  EXPECT_EQ(CanonicalName("app::Step<std::__cxx11::basic_string<char> >"),
            "app::Step<std::basic_string<char> >");
  EXPECT_EQ(CanonicalName("std::__1::function<int ()>"), "std::function<int ()>");
  EXPECT_EQ(CanonicalName("app::Plain"), "app::Plain");
}

TEST(Names, LambdasOfEitherCompilerAreUnnamed) {
  EXPECT_TRUE(IsUnnamedType("app::Workflow(dbos::DBOSContext&, int)::{lambda()#1}"));  // GCC
  EXPECT_TRUE(IsUnnamedType("app::Workflow(dbos::DBOSContext&, int)::$_0"));  // Clang, local
  EXPECT_TRUE(IsUnnamedType("app::Workflow()::'lambda'()"));                  // libc++abi
  EXPECT_TRUE(IsUnnamedType("app::{unnamed type#1}"));
  EXPECT_FALSE(IsUnnamedType("app::NamedStep"));
  EXPECT_FALSE(IsUnnamedType("app::Price$"));
}

TEST(Names, DefaultStepNames) {
  auto lambda = [] { return 1; };
  EXPECT_EQ(dbos::detail::StepNameOf(lambda), "<lambda>");
  EXPECT_EQ(dbos::detail::StepNameOf(dbos::testing::names_fns::NamedStep{}),
            "dbos::testing::names_fns::NamedStep");
}

TEST(Names, UnexpectedStepSaysHowToFixIt) {
  const std::string step =
      dbos::detail::UnexpectedStepMessage("wf", 2, "old", "new", /*is_workflow=*/false);
  EXPECT_NE(step.find("function old was recorded when new was expected"), std::string::npos);
  EXPECT_NE(step.find("dbos::WithStepName(\"old\")"), std::string::npos) << step;
  EXPECT_NE(step.find("application version"), std::string::npos) << step;
  const std::string child =
      dbos::detail::UnexpectedStepMessage("wf", 2, "old", "new", /*is_workflow=*/true);
  EXPECT_NE(child.find("dbos::WithWorkflowName(\"old\")"), std::string::npos) << child;
}

}  // namespace
