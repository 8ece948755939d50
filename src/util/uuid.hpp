// Random (version 4) UUIDs for workflow IDs and start-attempt markers.
#pragma once

#include <string>

namespace dbos::util {

/// A new random UUID in canonical lowercase form, e.g. "1b4e28ba-2fa1-4d3b-883f-0016d3cca427".
std::string NewUuid();

}  // namespace dbos::util
