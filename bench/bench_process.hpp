// A child dbos_bench process (this same binary, via /proc/self/exe) whose stdout the parent reads
// line by line; stderr is shared with the parent so the library's warnings stay visible.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace bench {

class ChildProcess {
 public:
  /// Starts `/proc/self/exe args…`; throws std::runtime_error when it cannot.
  explicit ChildProcess(const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// The next line of the child's stdout; nullopt at end of file or after `timeout_ms`.
  std::optional<std::string> ReadLine(double timeout_ms);
  /// Sends SIGKILL.
  void Kill();
  /// Waits for the child to exit; returns a description such as "exit 0" or "signal 9".
  std::string Wait();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace bench
