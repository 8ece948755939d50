// Reading the text cells of a Script's result.
#include "sysdb/core/session.hpp"

#include <charconv>
#include <cmath>

namespace dbos::sysdb::core {

const std::optional<std::string>& Rows::Row::Cell(int col) const {
  if (col < 0 || col >= rows_.columns_ || index_ >= rows_.Size()) {
    throw std::out_of_range("system database result: no column " + std::to_string(col) +
                            " in row " + std::to_string(index_));
  }
  return rows_.cells_[index_ * static_cast<size_t>(rows_.columns_) + static_cast<size_t>(col)];
}

std::optional<int64_t> Rows::Row::OptInt64(int col) const {
  const std::optional<std::string>& cell = Cell(col);
  if (!cell) return std::nullopt;
  int64_t value = 0;
  const char* end = cell->data() + cell->size();
  const auto [ptr, ec] = std::from_chars(cell->data(), end, value);
  if (ec == std::errc() && ptr == end) return value;
  // SQLite's loose typing: another SDK may have stored a whole number as a REAL ("5.0").
  double real = 0;
  const auto [real_end, real_ec] = std::from_chars(cell->data(), end, real);
  if (real_ec == std::errc() && real_end == end && std::isfinite(real) && std::abs(real) < 9.2e18) {
    return static_cast<int64_t>(real);
  }
  throw std::runtime_error("system database result: column " + std::to_string(col) + " holds '" +
                           *cell + "', not an integer");
}

bool Rows::Row::Bool(int col) const {
  const std::optional<std::string>& cell = Cell(col);
  if (!cell || cell->empty()) return false;
  if (*cell == "t" || *cell == "true") return true;
  if (*cell == "f" || *cell == "false") return false;
  return OptInt64(col).value_or(0) != 0;
}

}  // namespace dbos::sysdb::core
