#pragma once
// The documented caps on what one scenario may ask for (docs/reliability.md, "Limits"). The loader
// refuses a scenario over a cap with a `limit-exceeded` diagnostic at the offending key (exit 3);
// `run` also refuses a run whose estimated memory exceeds what the machine has (exit 5).

#include <cstddef>
#include <cstdint>

namespace techdep::limits {

inline constexpr int kMaxCountries = 1000;
inline constexpr int kMaxSectors = 200;
inline constexpr int kMaxSteps = 100'000;
/// The horizon's last step must fall in this year or before (dates are written YYYY-MM).
inline constexpr int kLastYear = 9999;
/// Agent mode: firms (firms_per_cell x countries x sectors) plus workers
/// (workers_per_country x countries).
inline constexpr std::int64_t kMaxAgents = 100'000'000;
/// Rows of one run's timeseries.csv (series x recorded steps); about 70 bytes each.
inline constexpr std::uint64_t kMaxOutputRows = 50'000'000;
// The YAML limits live with the parser (engine/scenario/yaml_tree.hpp ParseLimits): 64 MiB per
// file, 64 levels of flow nesting, indentation 512, 10,000 aliases, 2,000,000 nodes after alias
// expansion; CSV tables 64 MiB; extends chains 32 files.

}  // namespace techdep::limits
