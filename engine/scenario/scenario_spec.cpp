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
