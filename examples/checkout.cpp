// The checkout flow of the DBOS documentation, without HTTP: one process runs the checkout
// workflow, which reserves inventory, publishes a payment URL as an event and waits for the
// payment provider's notification; another process plays the payment webhook: it reads the URL
// with GetEvent and notifies the workflow with Send. Kill either process at any point and run it
// again: the checkout resumes where it was, and the notification is consumed exactly once.
//
//   ./checkout start order-1          # terminal 1: waits for the payment (up to 2 minutes)
//   ./checkout pay order-1 paid       # terminal 2: the webhook ("paid" or "failed")
//
// Both use the embedded SQLite file dbos-checkout.sqlite (or DBOS_SYSTEM_DATABASE_URL).
#include <chrono>
#include <dbos/dbos.hpp>
#include <iostream>
#include <string>

namespace {
constexpr const char* kPaymentUrlEvent = "payment_url";
constexpr const char* kPaymentTopic = "payment_status";
}  // namespace

std::string ReserveInventory(const std::string& order) {
  std::cout << "[checkout] reserved inventory for " << order << std::endl;
  return "reserved";
}

std::string CheckoutWorkflow(dbos::DBOSContext& ctx, std::string order) {
  dbos::RunAsStep(
      ctx, [&] { return ReserveInventory(order); }, dbos::WithStepName("reserve"));
  const std::string url = dbos::RunAsStep(
      ctx, [&] { return "https://payments.example/pay/" + order; },
      dbos::WithStepName("create-payment-session"));
  dbos::SetEvent(ctx, kPaymentUrlEvent, url);
  std::string status;
  try {
    status = dbos::Recv<std::string>(ctx, kPaymentTopic, std::chrono::minutes(2));
  } catch (const dbos::DBOSError& e) {
    if (e.Code() != dbos::ErrorCode::Timeout) throw;
    status = "timed out";
  }
  if (status != "paid") {
    dbos::RunAsStep(
        ctx,
        [&] {
          std::cout << "[checkout] released inventory for " << order << std::endl;
          return 0;
        },
        dbos::WithStepName("release"));
    return "order " + order + " not paid (" + status + ")";
  }
  dbos::RunAsStep(
      ctx,
      [&] {
        std::cout << "[checkout] shipping " << order << std::endl;
        return 0;
      },
      dbos::WithStepName("ship"));
  return "order " + order + " paid and shipped";
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: checkout start ORDER | checkout pay ORDER [paid|failed]\n";
    return 2;
  }
  const std::string command = argv[1];
  const std::string order = argv[2];
  try {
    dbos::DBOSContext ctx = dbos::NewDBOSContext(dbos::Config{
        .app_name = "dbos-checkout",
        .database_url = dbos::GetEnv("DBOS_SYSTEM_DATABASE_URL"),
        .logger = dbos::NewConsoleLogger(dbos::LogLevel::Warn),
        .application_version = "checkout-v1",
    });
    if (command == "start") {
      dbos::RegisterWorkflow(ctx, CheckoutWorkflow);
      dbos::Launch(ctx);  // resumes a checkout interrupted by a crash
      dbos::WorkflowHandle<std::string> handle;
      try {
        handle = dbos::RetrieveWorkflow<std::string>(ctx, order);  // resumed by Launch
      } catch (const dbos::DBOSError& e) {
        if (e.Code() != dbos::ErrorCode::NonExistentWorkflow) throw;
        handle = dbos::RunWorkflow(ctx, CheckoutWorkflow, order, dbos::WithWorkflowID(order));
      }
      std::cout << "[checkout] " << handle.GetResult() << std::endl;
    } else if (command == "pay") {
      // The webhook runs no workflows, so it does not Launch: a launched process would recover
      // (and could run) the pending checkouts of its executor ID. GetEvent and Send need no
      // Launch.
      const std::string status = argc > 3 ? argv[3] : "paid";
      const auto url =
          dbos::GetEvent<std::string>(ctx, order, kPaymentUrlEvent, std::chrono::seconds(30));
      std::cout << "[webhook] customer paid at " << url << "; notifying " << order << std::endl;
      dbos::Send(ctx, order, status, kPaymentTopic);
    } else {
      std::cerr << "unknown command " << command << "\n";
      return 2;
    }
    dbos::Shutdown(ctx, std::chrono::seconds(5));
  } catch (const dbos::DBOSError& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  }
  return 0;
}
