// Config validation and resolution; see config_resolution.hpp.
#include "core/config_resolution.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <vector>

#include "dbos/errors.hpp"

namespace dbos::detail {
namespace {

std::string Sha256Hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool IsPlainIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (std::isdigit(static_cast<unsigned char>(name[0])) != 0) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

bool HasWhitespace(const std::string& s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

bool IsKeyValueConnString(const std::string& url) {
  static constexpr const char* kKeys[] = {
      "user=",     "host=",    "hostaddr=",         "port=",    "dbname=",         "database=",
      "password=", "sslmode=", "application_name=", "options=", "connect_timeout="};
  for (const char* key : kKeys) {
    if (StartsWith(url, key)) return true;
  }
  return false;
}

void ValidateDatabaseUrl(const std::string& url) {
  if (IsSqliteUrl(url)) {
    const auto colon = url.find(':');
    if (url.size() <= colon + 1) {
      throw DBOSError(
          ErrorCode::Initialization,
          "database_url '" + url + "' names no SQLite file: use sqlite:PATH or sqlite::memory:");
    }
    return;
  }
  if (StartsWith(url, "postgres://") || StartsWith(url, "postgresql://")) {
    if (HasWhitespace(url) || url.find('#') != std::string::npos) {
      throw DBOSError(ErrorCode::Initialization,
                      "malformed database_url '" + RedactUrl(url) +
                          "': expected postgresql://user:password@host:port/database");
    }
    // libpq ends the user information at the first '@': a second one before the path means a
    // password (or user name) with an unencoded '@', which would be sent as part of the host.
    const auto authority = url.find("://") + 3;
    const auto path = url.find_first_of("/?", authority);
    const auto first_at = url.find('@', authority);
    if (first_at != std::string::npos && first_at < path && url.find('@', first_at + 1) < path) {
      throw DBOSError(ErrorCode::Initialization,
                      "database_url '" + RedactUrl(url) +
                          "' has more than one '@' before the host: percent-encode '@' inside "
                          "the user name or password as %40");
    }
    return;
  }
  if (IsKeyValueConnString(url)) return;
  throw DBOSError(ErrorCode::Initialization,
                  "unsupported database_url '" + RedactUrl(url) +
                      "': use postgresql://user:password@host:port/database, a libpq "
                      "'host=… dbname=…' string, sqlite:PATH or sqlite::memory:");
}

}  // namespace

bool IsSqliteUrl(const std::string& url) {
  return StartsWith(url, "sqlite:") || StartsWith(url, "sqlite3:");
}

std::string RedactUrl(const std::string& url) {
  std::string out = url;
  // postgresql://user:secret@host -> postgresql://user:***@host. The password ends at the last
  // '@' before the query string, so an unencoded '@' (or '/') inside it is hidden too.
  const auto scheme = out.find("://");
  if (scheme != std::string::npos && StartsWith(out, "postgres")) {
    const auto query = out.find('?', scheme + 3);
    const auto at = out.rfind('@', query == std::string::npos ? std::string::npos : query);
    const auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && at > scheme + 3 && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=secret (libpq key=value) -> password=***
  for (auto pos = out.find("password"); pos != std::string::npos;
       pos = out.find("password", pos + 1)) {
    auto eq = pos + 8;
    while (eq < out.size() && out[eq] == ' ') ++eq;
    if (eq >= out.size() || out[eq] != '=') continue;
    auto begin = eq + 1;
    while (begin < out.size() && out[begin] == ' ') ++begin;
    auto end = begin;
    if (begin < out.size() && out[begin] == '\'') {
      end = out.find('\'', begin + 1);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      while (end < out.size() && out[end] != ' ') ++end;
    }
    out.replace(pos, end - pos, "password=***");
  }
  return out;
}

std::string ComputeApplicationVersion(const std::string& app_name) {
  // The executable does not change while it runs: hash it once per process.
  static const std::string kExecutableHash = [] {
    std::ifstream exe("/proc/self/exe", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(exe)), std::istreambuf_iterator<char>());
    return Sha256Hex(bytes);
  }();
  return Sha256Hex(kExecutableHash + app_name);
}

ResolvedConfig ResolveConfig(const Config& config) {
  if (config.app_name.empty()) {
    throw DBOSError(ErrorCode::Initialization,
                    "Config.app_name is required: give your application a name");
  }
  if (config.admin_server) {
    throw DBOSError(ErrorCode::Initialization,
                    "Config.admin_server is not available in this version; leave it false");
  }
  if (!config.conductor_api_key.empty()) {
    throw DBOSError(ErrorCode::Initialization,
                    "DBOS Conductor is not available in this version; leave "
                    "Config.conductor_api_key empty");
  }
  if (config.system_db_pool_size < 0) {
    throw DBOSError(ErrorCode::Initialization, "Config.system_db_pool_size must be >= 0");
  }
  if (config.system_db_startup_timeout.count() <= 0) {
    throw DBOSError(ErrorCode::Initialization, "Config.system_db_startup_timeout must be positive");
  }
  ResolvedConfig out;
  out.app_name = config.app_name;
  out.database_url = config.database_url;
  if (out.database_url.empty()) out.database_url = GetEnv("DBOS_SYSTEM_DATABASE_URL");
  if (out.database_url.empty()) out.database_url = "sqlite:" + config.app_name + ".sqlite";
  ValidateDatabaseUrl(out.database_url);
  out.database_schema = config.database_schema.empty() ? "dbos" : config.database_schema;
  if (!IsPlainIdentifier(out.database_schema)) {
    throw DBOSError(ErrorCode::Initialization,
                    "Config.database_schema '" + out.database_schema +
                        "' is not a plain identifier (letters, digits, underscore)");
  }
  out.executor_id = GetEnv("DBOS__VMID");
  if (out.executor_id.empty()) out.executor_id = config.executor_id;
  if (out.executor_id.empty()) out.executor_id = "local";
  out.application_version = GetEnv("DBOS__APPVERSION");
  if (out.application_version.empty()) out.application_version = config.application_version;
  if (out.application_version.empty()) {
    out.application_version = ComputeApplicationVersion(config.app_name);
  }
  return out;
}

}  // namespace dbos::detail
