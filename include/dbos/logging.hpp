// The logging interface the library writes through. Applications plug in their own logger by
// implementing Logger; the default writes INFO and above to stdout.
#pragma once

#include <memory>
#include <string_view>

namespace dbos {

/// Severity of a log line.
enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// Receives the library's log lines. Implementations must be thread-safe; Log must not throw.
class Logger {
 public:
  virtual ~Logger() = default;
  /// Writes one line at `level`.
  virtual void Log(LogLevel level, std::string_view message) noexcept = 0;
};

/// A logger that writes lines at `min_level` and above to stdout with a timestamp and level.
std::shared_ptr<Logger> NewConsoleLogger(LogLevel min_level = LogLevel::Info);

}  // namespace dbos
