// Must compile and run: an application that serializes std::chrono::system_clock::time_point its
// own way, with its own adl_serializer specialisation, next to the library's headers. The
// library's own specialisation is partial, so the application's full one is a legal, preferred
// specialisation and is used for top-level and nested values alike. Exits non-zero on mismatch.
#include <chrono>
#include <cstdio>
#include <dbos/dbos.hpp>
#include <nlohmann/json.hpp>

namespace nlohmann {
template <>
struct adl_serializer<std::chrono::system_clock::time_point> {
  static void to_json(json& j, const std::chrono::system_clock::time_point& t) {
    j = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  }
  static void from_json(const json& j, std::chrono::system_clock::time_point& t) {
    t = std::chrono::system_clock::time_point(std::chrono::seconds(j.get<long long>()));
  }
};
}  // namespace nlohmann

namespace app {
struct Appointment {
  std::string who;
  std::chrono::system_clock::time_point when;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Appointment, who, when)
}  // namespace app

static_assert(dbos::Serializable<std::chrono::system_clock::time_point>);
static_assert(dbos::Serializable<app::Appointment>);

int main() {
  const std::chrono::system_clock::time_point t(std::chrono::seconds(1700000000));
  const nlohmann::json top = t;
  const nlohmann::json nested = app::Appointment{"ann", t};
  if (top != nlohmann::json(1700000000) || nested.at("when") != nlohmann::json(1700000000)) {
    std::fprintf(stderr, "the application's serializer was not used: %s %s\n", top.dump().c_str(),
                 nested.dump().c_str());
    return 1;
  }
  if (nested.get<app::Appointment>().when != t) {
    std::fprintf(stderr, "nested time point did not read back\n");
    return 1;
  }
  return 0;
}
