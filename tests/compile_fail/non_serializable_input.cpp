// Must NOT compile: a workflow whose input type nlohmann::json cannot convert. The ctest entry
// compile_fail_non_serializable_input checks that the compiler says why, in plain words.
#include <dbos/dbos.hpp>

struct NotSerializable {
  int value = 0;
};

int Workflow(dbos::DBOSContext&, NotSerializable input) { return input.value; }

int main() {
  dbos::DBOSContext ctx;
  dbos::RegisterWorkflow(ctx, Workflow);
  return 0;
}
