// The process-wide fault injector: an atomic flag for the fast "off" path and a shared_ptr to the
// installed function, so a test may replace it while other threads consult it.
#include "sysdb/core/fault_injection.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace dbos::sysdb::testing {
namespace {

std::atomic<bool> g_on{false};
std::mutex g_mutex;
std::shared_ptr<const FaultInjector> g_injector;  // guarded by g_mutex

}  // namespace

void SetFaultInjector(FaultInjector injector) {
  std::shared_ptr<const FaultInjector> next;
  if (injector) next = std::make_shared<const FaultInjector>(std::move(injector));
  std::lock_guard lock(g_mutex);
  g_injector = std::move(next);
  g_on.store(g_injector != nullptr, std::memory_order_release);
}

bool FaultInjectionOn() noexcept { return g_on.load(std::memory_order_relaxed); }

Fault NextFault(const FaultSite& site) {
  if (!FaultInjectionOn()) return {};
  std::shared_ptr<const FaultInjector> injector;
  {
    std::lock_guard lock(g_mutex);
    injector = g_injector;
  }
  if (!injector) return {};
  return (*injector)(site);
}

}  // namespace dbos::sysdb::testing
