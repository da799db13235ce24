#pragma once
// Reads what a report needs from a run folder's files (docs/output-format.md): the recorded
// series of timeseries.csv, the quantile bands of summary.csv and the rules that fired.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace techdep {

/// Quantile bands of one series at every recorded point (NaN where summary.csv has no row).
struct SeriesBand {
  std::vector<double> centre;  ///< mean (p50 when there is no mean)
  std::vector<double> outer_low, outer_high;  ///< p05, p95
  std::vector<double> inner_low, inner_high;  ///< p25, p75 (empty when not in summary.csv)
};

struct RecordedRun {
  std::vector<int> steps;          ///< the recorded steps, ascending
  std::vector<std::string> dates;  ///< their calendar labels
  /// series_name() -> value at each recorded point (NaN where missing); point 0, replicate 0
  std::map<std::string, std::vector<double>> values;
  std::map<std::string, SeriesBand> bands;  ///< from summary.csv, when the folder has one

  struct Firing {
    int step = 0;
    std::string rule;
    std::string event;
  };
  std::vector<Firing> firings;  ///< events.csv

  /// The value of a series at a recorded point, NaN when it was not recorded.
  double value(const std::string& series, std::size_t point) const;
  std::optional<std::size_t> point_of_step(int step) const;
};

/// Throws IoError when timeseries.csv is missing or malformed (naming file:line).
RecordedRun read_recorded_run(const std::filesystem::path& run_dir);

/// RFC 4180 records of a CSV text: quoted fields may hold commas, quotes and line breaks.
/// Throws IoError naming `file` and the line of an unterminated quote.
std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& file);

}  // namespace techdep
