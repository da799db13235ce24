#include "techdep/scenario/scenario_spec.hpp"

#include <fmt/format.h>

namespace techdep {

std::string step_label(const TimeSpec& time, int step) {
  const int months = (time.start_year * 12 + (time.start_month - 1)) + step * time.months_per_step;
  const int year = months / 12;
  const int month = months % 12 + 1;
  switch (time.step) {
    case StepUnit::Month:
      return fmt::format("{:04}-{:02}", year, month);
    case StepUnit::Quarter:
      return fmt::format("{:04}-Q{}", year, (month - 1) / 3 + 1);
    case StepUnit::Year:
      return fmt::format("{:04}", year);
  }
  return {};
}

}  // namespace techdep

namespace techdep {

namespace {

std::optional<int> parse_digits(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int value = 0;
  for (const char character : text) {
    if (character < '0' || character > '9') return std::nullopt;
    value = value * 10 + (character - '0');
  }
  return value;
}

}  // namespace

std::optional<int> parse_step(const TimeSpec& time, std::string_view text) {
  const bool looks_like_date = (text.size() == 7 || text.size() == 10) && text[4] == '-';
  if (!looks_like_date) return parse_digits(text);
  if (text.size() == 10 && text[7] != '-') return std::nullopt;
  const std::optional<int> year = parse_digits(text.substr(0, 4));
  const std::optional<int> month = parse_digits(text.substr(5, 2));
  if (!year || !month || *month < 1 || *month > 12) return std::nullopt;
  if (text.size() == 10) {
    const std::optional<int> day = parse_digits(text.substr(8, 2));
    if (!day || *day < 1 || *day > 31) return std::nullopt;
  }
  const int months = (*year * 12 + *month - 1) - (time.start_year * 12 + time.start_month - 1);
  // Floor division: a date before the start maps to a negative step.
  const int per_step = time.months_per_step;
  return months >= 0 ? months / per_step : -((-months + per_step - 1) / per_step);
}

}  // namespace techdep
