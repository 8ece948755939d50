// LISTEN connection thread: poll() on the libpq socket and an eventfd, drain notifications into the
// callback, reconnect with backoff when the connection breaks.
#include "sysdb/postgres/pg_listener.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <exception>
#include <random>
#include <system_error>

namespace dbos::sysdb::pg {
namespace {

constexpr std::chrono::milliseconds kInitialBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

/// `base` scaled by a random factor in [0.75, 1.25].
std::chrono::milliseconds Jitter(std::chrono::milliseconds base) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.75, 1.25);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(base.count()) * factor(rng)));
}

}  // namespace

ScopedFd::~ScopedFd() { Reset(); }

void ScopedFd::Reset(int fd) noexcept {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

PgListener::PgListener(ConnectionSpec spec, std::vector<std::string> channels, Callback callback,
                       std::shared_ptr<Logger> logger, std::chrono::milliseconds connect_timeout)
    : spec_(std::move(spec)),
      channels_(std::move(channels)),
      callback_(std::move(callback)),
      logger_(std::move(logger)),
      connect_timeout_(connect_timeout) {}

PgListener::~PgListener() { Stop(); }

void PgListener::Start() {
  if (thread_.joinable()) return;
  wakeup_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (wakeup_.Get() < 0) {
    throw std::system_error(errno, std::generic_category(), "eventfd for the DBOS listener");
  }
  stopping_ = false;
  conn_ = ConnectAndListen();  // may be null: the thread keeps trying
  thread_ = std::thread([this] { Run(); });
}

void PgListener::Stop() noexcept {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  // A full eventfd counter (impossible here) is the only failure; the thread then still sees
  // stopping_ at its next wake-up.
  [[maybe_unused]] const ssize_t written = write(wakeup_.Get(), &one, sizeof(one));
  thread_.join();
  conn_.reset();
  wakeup_.Reset();
}

std::unique_ptr<PgConnection> PgListener::ConnectAndListen() {
  try {
    std::unique_ptr<PgConnection> conn =
        PgConnection::Connect(spec_, std::chrono::steady_clock::now() + connect_timeout_);
    std::string sql;
    for (const auto& channel : channels_) sql += "LISTEN " + QuoteIdent(channel) + ";";
    conn->Exec(sql);
    return conn;
  } catch (const std::exception& e) {
    logger_->Log(
        LogLevel::Warn,
        std::string("DBOS notification listener could not connect (will retry): ") + e.what());
    return nullptr;
  }
}

bool PgListener::SleepUnlessStopped(std::chrono::milliseconds delay) noexcept {
  pollfd fd{};
  fd.fd = wakeup_.Get();
  fd.events = POLLIN;
  const int ready = poll(&fd, 1, static_cast<int>(delay.count()));
  return ready <= 0 && !stopping_;
}

void PgListener::Deliver(const std::string& channel, const std::string& payload) noexcept {
  try {
    callback_(channel, payload);
  } catch (const std::exception& e) {
    logger_->Log(LogLevel::Error,
                 std::string("DBOS notification callback threw an exception: ") + e.what());
  } catch (...) {
    logger_->Log(LogLevel::Error, "DBOS notification callback threw a non-standard exception");
  }
}

void PgListener::Run() noexcept {
  std::chrono::milliseconds backoff = kInitialBackoff;
  while (!stopping_) {
    if (!conn_) {
      try {
        conn_ = ConnectAndListen();
      } catch (...) {  // allocation failure: treat like a failed connect
        conn_.reset();
      }
      if (!conn_) {
        if (!SleepUnlessStopped(Jitter(backoff))) break;
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      backoff = kInitialBackoff;
      Deliver("", "");  // anything may have been sent while we were not listening
    }
    pollfd fds[2] = {};
    fds[0].fd = wakeup_.Get();
    fds[0].events = POLLIN;
    fds[1].fd = conn_->Socket();
    fds[1].events = POLLIN;
    const int ready = poll(fds, 2, -1);
    if (stopping_) break;
    if (ready < 0) {
      if (errno == EINTR) continue;
      logger_->Log(LogLevel::Warn, "DBOS notification listener: poll() failed; reconnecting");
      conn_.reset();
      continue;
    }
    if ((fds[1].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
    if (!conn_->ConsumeInput()) {
      logger_->Log(LogLevel::Warn, "DBOS notification listener lost its connection; reconnecting");
      conn_.reset();
      continue;
    }
    try {
      while (auto notification = conn_->NextNotification()) {
        Deliver(notification->channel, notification->payload);
      }
    } catch (...) {  // allocation failure while copying a notification
      conn_.reset();
    }
  }
}

}  // namespace dbos::sysdb::pg
