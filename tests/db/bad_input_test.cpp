// Bad input fails the same way on SQLite and PostgreSQL: DBOSError(InvalidOption) saying what to
// fix, thrown before anything is written. Covers NUL bytes and invalid UTF-8 in IDs, keys and
// topics, names too long for a NOTIFY payload, an empty WithWorkflowID, invalid UTF-8 inside
// values, durations too large to add to a clock, and values that cannot be read as the type
// asked for (WorkflowUnexpectedType, never a nlohmann::json exception).
#include <chrono>
#include <string>
#include <vector>

#include "core/validation.hpp"
#include "support/db_test.hpp"
#include "support/raw_sql.hpp"

namespace dbos::testing {
namespace {

struct Point {
  int x = 0;
  int y = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Point, x, y)

const std::string kNul("a\0x", 3);
const std::string kBadUtf8 = "bad\xff";
const std::string kTooLong(detail::kMaxNameBytes + 1, 'x');
constexpr auto kForever = std::chrono::milliseconds::max();

class BadInputTest : public DbTest {
 protected:
  // Rows in a system table of this test's database.
  int Count(const std::string& table) const {
    const std::string name = IsPostgres() ? "\"" + schema_ + "\"." + table : table;
    return std::stoi(RunSql(url_, "SELECT COUNT(*) FROM " + name).at(0).at(0));
  }
  int Written() const {
    return Count("workflow_status") + Count("operation_outputs") + Count("notifications") +
           Count("workflow_events");
  }
};

TEST_P(BadInputTest, BadWorkflowIdsAreRefusedBeforeAnythingIsWritten) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext&, int x) { return x; };
  RegisterWorkflow(ctx, wf, WithWorkflowName("plain"));
  Launch(ctx);
  for (const std::string& id : {kNul, kBadUtf8, kTooLong, std::string()}) {
    EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, wf, 1, WithWorkflowID(id)); }),
              ErrorCode::InvalidOption);
    EXPECT_EQ(CodeOf([&] { Send(ctx, id, 1); }), ErrorCode::InvalidOption);
    EXPECT_EQ(CodeOf([&] { GetEvent<int>(ctx, id, "k", std::chrono::milliseconds(1)); }),
              ErrorCode::InvalidOption);
    EXPECT_EQ(CodeOf([&] { RetrieveWorkflow<int>(ctx, id); }), ErrorCode::InvalidOption);
    EXPECT_EQ(CodeOf([&] { CancelWorkflow(ctx, id); }), ErrorCode::InvalidOption);
  }
  EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, wf, 1, WithQueue(kNul)); }), ErrorCode::InvalidOption);
  EXPECT_EQ(Written(), 0);
}

TEST_P(BadInputTest, BadKeysTopicsAndValuesAreRefusedBeforeAnythingIsWritten) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  // Returns the codes of the refused calls; the workflow itself succeeds.
  auto wf = [](DBOSContext& c, std::string target) {
    std::vector<int> codes;
    auto note = [&](auto&& call) {
      try {
        call();
        codes.push_back(0);
      } catch (const DBOSError& e) {
        codes.push_back(static_cast<int>(e.Code()));
      }
    };
    for (const std::string& bad : {kNul, kBadUtf8, kTooLong}) {
      note([&] { SetEvent(c, bad, 1); });
      note([&] { Send(c, target, 1, bad); });
      note([&] { Recv<int>(c, bad, std::chrono::milliseconds(1)); });
      note([&] { GetEvent<int>(c, target, bad, std::chrono::milliseconds(1)); });
    }
    note([&] { SetEvent(c, "k", std::string(kBadUtf8)); });
    note([&] { Send(c, target, std::vector<std::string>{"ok", kBadUtf8}); });
    return codes;
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("refusals"));
  Launch(ctx);
  const auto codes =
      RunWorkflow(ctx, wf, std::string("refusals"), WithWorkflowID("refusals")).GetResult();
  ASSERT_EQ(codes.size(), 14U);
  for (int code : codes) EXPECT_EQ(code, static_cast<int>(ErrorCode::InvalidOption));
  EXPECT_EQ(CodeOf([&] { RunWorkflow(ctx, wf, std::string(kBadUtf8)); }), ErrorCode::InvalidOption);
  // Only the workflow's own row: no step, message or event was recorded.
  EXPECT_EQ(Count("workflow_status"), 1);
  EXPECT_EQ(Count("operation_outputs") + Count("notifications") + Count("workflow_events"), 0);
}

// Workflow and step names are recorded and compared on replay: PostgreSQL would cut a name at a
// NUL byte (and refuse invalid UTF-8) where SQLite keeps it, so both are refused up front.
TEST_P(BadInputTest, BadWorkflowAndStepNamesAreRefused) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext&, int x) { return x; };
  for (const std::string& name : {kNul, kBadUtf8, kTooLong}) {
    EXPECT_EQ(CodeOf([&] { RegisterWorkflow(ctx, wf, WithWorkflowName(name)); }),
              ErrorCode::InvalidOption);
  }
  auto steps = [](DBOSContext& c, int) {
    int refused = 0;
    for (const std::string& name : {kNul, kBadUtf8, kTooLong}) {
      try {
        RunAsStep(
            c, [] { return 1; }, WithStepName(name));
      } catch (const DBOSError& e) {
        if (e.Code() == ErrorCode::InvalidOption) ++refused;
      }
    }
    return refused;
  };
  RegisterWorkflow(ctx, steps, WithWorkflowName("step-names"));
  Launch(ctx);
  EXPECT_EQ(RunWorkflow(ctx, steps, 0, WithWorkflowID("step-names")).GetResult(), 3);
  EXPECT_EQ(Count("operation_outputs"), 0);
}

TEST_P(BadInputTest, NamesAtTheLimitWorkOnBothBackends) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  const std::string longest(detail::kMaxNameBytes, 'k');
  auto wf = [longest](DBOSContext& c, int x) {
    SetEvent(c, longest, x);
    return Recv<int>(c, longest, std::chrono::seconds(30));
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("longest"));
  Launch(ctx);
  const std::string id(detail::kMaxNameBytes, 'w');
  auto handle = RunWorkflow(ctx, wf, 7, WithWorkflowID(id));
  EXPECT_EQ(GetEvent<int>(ctx, id, longest, std::chrono::seconds(30)), 7);
  Send(ctx, id, 8, longest);
  EXPECT_EQ(handle.GetResult(), 8);
}

TEST_P(BadInputTest, HugeDurationsMeanWaitingForever) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto receiver = [](DBOSContext& c, int) { return Recv<int>(c, "t", kForever); };
  auto sleeper = [](DBOSContext& c, int) { return static_cast<int>(Sleep(c, kForever).count()); };
  auto setter = [](DBOSContext& c, int x) {
    SetEvent(c, "ready", x);
    return x;
  };
  RegisterWorkflow(ctx, receiver, WithWorkflowName("receiver"));
  RegisterWorkflow(ctx, sleeper, WithWorkflowName("sleeper"));
  RegisterWorkflow(ctx, setter, WithWorkflowName("setter"));
  Launch(ctx);

  auto received = RunWorkflow(ctx, receiver, 0, WithWorkflowID("receiver"));
  Send(ctx, "receiver", 42, "t");
  EXPECT_EQ(received.GetResult(), 42);

  auto sleeping = RunWorkflow(ctx, sleeper, 0, WithWorkflowID("sleeper"));
  CancelWorkflow(ctx, "sleeper");
  EXPECT_EQ(CodeOf([&] { sleeping.GetResult(); }), ErrorCode::AwaitedWorkflowCancelled);

  auto [timed, cancel] = WithTimeout(ctx, kForever);
  EXPECT_EQ(RunWorkflow(timed, setter, 5, WithWorkflowID("setter")).GetResult(), 5);
  EXPECT_EQ(GetEvent<int>(ctx, "setter", "ready", kForever), 5);
  const auto status = RetrieveWorkflow<int>(ctx, "setter").GetStatus();
  ASSERT_TRUE(status.deadline.has_value());
  EXPECT_LE(*status.deadline, std::chrono::system_clock::now() + detail::kMaxWait);
  cancel();
}

TEST_P(BadInputTest, ValuesOfAnotherTypeAreWorkflowUnexpectedType) {
  DBOSContext ctx = NewDBOSContext(MakeConfig());
  auto wf = [](DBOSContext& c, int x) {
    SetEvent(c, "n", x);
    SetEvent(c, "when", std::string("not a time"));
    return x;
  };
  RegisterWorkflow(ctx, wf, WithWorkflowName("numbers"));
  Launch(ctx);
  RunWorkflow(ctx, wf, 3, WithWorkflowID("numbers")).GetResult();
  auto expect_unexpected_type = [](auto&& call, const std::string& type) {
    try {
      call();
      ADD_FAILURE() << "expected WorkflowUnexpectedType";
    } catch (const DBOSError& e) {
      EXPECT_EQ(e.Code(), ErrorCode::WorkflowUnexpectedType) << e.what();
      EXPECT_NE(e.Message().find(type), std::string::npos) << e.what();
    }
  };
  expect_unexpected_type([&] { GetEvent<Point>(ctx, "numbers", "n", std::chrono::seconds(1)); },
                         "Point");
  expect_unexpected_type(
      [&] {
        GetEvent<std::chrono::system_clock::time_point>(ctx, "numbers", "when",
                                                        std::chrono::seconds(1));
      },
      "time_point");
  // A process where the workflow is not registered learns the type only from the stored value.
  DBOSContext other = NewDBOSContext(MakeConfig());
  expect_unexpected_type([&] { RetrieveWorkflow<Point>(other, "numbers").GetResult(); }, "Point");
}

DBOS_INSTANTIATE_ON_BOTH_BACKENDS(BadInputTest);

}  // namespace
}  // namespace dbos::testing
