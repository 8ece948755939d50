// The default logger (stdout, one line per message, serialized by a mutex) and GetEnv.
#include "dbos/logging.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "dbos/config.hpp"

namespace dbos {
namespace {

class ConsoleLogger final : public Logger {
 public:
  explicit ConsoleLogger(LogLevel min_level) : min_level_(min_level) {}
  void Log(LogLevel level, std::string_view message) noexcept override {
    if (level < min_level_) return;
    static constexpr const char* kNames[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    std::lock_guard lock(mutex_);
    std::fprintf(stdout, "%s %-5s dbos: %.*s\n", stamp, kNames[static_cast<int>(level)],
                 static_cast<int>(message.size()), message.data());
    std::fflush(stdout);
  }

 private:
  LogLevel min_level_;
  std::mutex mutex_;
};

}  // namespace

std::shared_ptr<Logger> NewConsoleLogger(LogLevel min_level) {
  return std::make_shared<ConsoleLogger>(min_level);
}

std::string GetEnv(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace dbos
