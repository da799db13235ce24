#pragma once
// Writes the recorded metrics as the long (tidy) CSV and, optionally, the wide spreadsheet view
// (docs/output-format.md). Numbers use fmt's shortest round-trip form; a value that does not
// exist (NaN) is an empty field.

#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "techdep/model/metrics.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

/// One output series: a metric at a (country, sector, partner) index; -1 where a dimension does
/// not apply. `partner` is a bloc id for bloc_share. `segment`: a demand segment of the cell
/// (per_segment metrics of segmented cells), -1 for the whole.
struct SeriesKey {
  Metric metric;
  CountryId country;
  SectorId sector;
  int partner;
  int segment = -1;
};

/// The header of timeseries.csv (and of every file with its rows).
inline constexpr std::string_view kTimeseriesHeader =
    "scenario,point,replicate,step,date,country,sector,partner,segment,metric,value\n";

/// The series' value in a frame.
inline double series_value(const MetricsFrame& frame, const SeriesKey& key) {
  return frame.value(key.metric, key.country, key.sector, key.partner, key.segment);
}

/// The series `spec.outputs` selects, in the order rows and columns are written.
std::vector<SeriesKey> selected_series(const ScenarioSpec& spec);

/// `supplier_share.RUS.semiconductors.CHN`, `domestic_share.RUS.operating_systems@state`: the
/// series' name in comparisons, reports and messages.
std::string series_name(const ScenarioSpec& spec, const SeriesKey& key);

/// `RUS,semiconductors,CHN,,supplier_share`: the series' `country,sector,partner,segment,metric`
/// columns.
std::string series_csv_fields(const ScenarioSpec& spec, const SeriesKey& key);

struct TimeseriesFiles {
  std::optional<std::filesystem::path> long_csv;  ///< timeseries.csv
  std::optional<std::filesystem::path> wide_csv;  ///< wide.csv
  /// timeseries.csv's bytes kept in memory instead of a file (the Python package's runs);
  /// filled at commit(). Not with long_csv.
  std::string* long_text = nullptr;
  /// Format, write and hash the rows on a thread of the writer's own while the simulation goes
  /// on (a run given more than one thread); otherwise record() does it before it returns.
  bool in_background = false;
};

class TimeseriesWriter {
 public:
  TimeseriesWriter(const ScenarioSpec& spec, const TimeseriesFiles& files, int point = 0,
                   int replicate = 0);
  ~TimeseriesWriter();

  /// Appends the rows of one recorded step. Throws NumericalError for a NaN series (nothing of
  /// the step is written) and, in the background, the IoError of an earlier step's write.
  void record(const MetricsFrame& frame);
  /// Flushes and renames the files into place. Throws IoError.
  void commit();
  std::size_t long_rows() const { return long_rows_; }
  std::size_t wide_rows() const { return wide_rows_; }
  /// The committed files' SHA-256 (lower-case hex), hashed as they were written.
  const std::string& long_sha256() const;
  const std::string& wide_sha256() const;

 private:
  struct Pending {
    int step = 0;
    std::vector<double> values;  ///< one per series, in series_ order
  };
  void format_step(int step, const std::vector<double>& values);
  void flush_if_large();
  void write_in_background();
  void stop_background();
  void rethrow_background_error();

  const ScenarioSpec& spec_;
  std::vector<SeriesKey> series_;
  std::vector<std::string> row_prefix_;  ///< per series: `country,sector,partner,segment,metric,`
  std::string scenario_point_replicate_;
  std::unique_ptr<StagedFile> long_file_;
  std::unique_ptr<StagedFile> wide_file_;
  std::string* long_text_ = nullptr;
  std::string long_buffer_;
  std::string wide_buffer_;
  std::size_t long_rows_ = 0;
  std::size_t wide_rows_ = 0;

  // The background writer: record() hands steps over through `pending_` (bounded, so a slow disk
  // holds the simulation back instead of queueing the whole run), spent value arrays come back
  // through `spare_` (where record() also keeps its own without the background).
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> pending_;
  std::vector<std::vector<double>> spare_;
  bool finishing_ = false;
  std::exception_ptr background_error_;
  std::thread background_;
};

/// Appends a value in the CSV number form: shortest round trip, empty for NaN.
void append_csv_number(std::string& out, double value);
/// Appends a field quoted per RFC 4180 when it holds a comma, quote or line break.
void append_csv_field(std::string& out, std::string_view field);

}  // namespace techdep
