#include "report/run_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot read the file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

double parse_number(const std::string& field) {
  if (field.empty()) return std::nan("");
  double value = 0.0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size()) return std::nan("");
  return value;
}

int parse_int(const std::string& field, const std::string& where) {
  int value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size()) {
    throw IoError(fmt::format("{}: '{}' is not an integer", where, field));
  }
  return value;
}

// Column positions by header name, so files with extra or reordered columns still read.
class Columns {
 public:
  Columns(const std::vector<std::string>& header, std::string file)
      : header_(header), file_(std::move(file)) {}
  std::optional<std::size_t> find(std::string_view name) const {
    const auto found = std::find(header_.begin(), header_.end(), name);
    if (found == header_.end()) return std::nullopt;
    return static_cast<std::size_t>(found - header_.begin());
  }
  std::size_t require(std::string_view name) const {
    if (const auto index = find(name)) return *index;
    throw IoError(fmt::format("{}: no column '{}' in the header", file_, name));
  }

 private:
  std::vector<std::string> header_;
  std::string file_;
};

// series_name() of a row; `segment` is absent in run folders written before demand segments.
std::string series_key(const std::vector<std::string>& row, std::size_t metric, std::size_t country,
                       std::size_t sector, std::size_t partner,
                       std::optional<std::size_t> segment) {
  std::string name = row[metric] + "." + row[country];
  if (!row[sector].empty()) name += "." + row[sector];
  if (!row[partner].empty()) name += "." + row[partner];
  if (segment && !row[*segment].empty()) name += "@" + row[*segment];
  return name;
}

void read_bands(const fs::path& file, RecordedRun& run) {
  const std::string where = file.string();
  const std::vector<std::vector<std::string>> rows = parse_csv(read_text(file), where);
  if (rows.empty()) return;
  const Columns columns(rows.front(), where);
  const std::size_t metric = columns.require("metric"), country = columns.require("country"),
                    sector = columns.require("sector"), partner = columns.require("partner"),
                    step = columns.require("step");
  const std::optional<std::size_t> point = columns.find("point"), mean = columns.find("mean"),
                                   p50 = columns.find("p50"), p05 = columns.find("p05"),
                                   p95 = columns.find("p95"), p25 = columns.find("p25"),
                                   p75 = columns.find("p75"), segment = columns.find("segment");
  // Without the outer quantiles there is no band to draw.
  if (!p05 || !p95) return;
  const std::size_t points = run.steps.size();
  for (std::size_t line = 1; line < rows.size(); ++line) {
    const std::vector<std::string>& row = rows[line];
    if (row.size() != rows.front().size()) {
      throw IoError(fmt::format("{}:{}: {} fields, the header has {}", where, line + 1, row.size(),
                                rows.front().size()));
    }
    if (point && row[*point] != "0") continue;
    const std::optional<std::size_t> index =
        run.point_of_step(parse_int(row[step], fmt::format("{}:{}", where, line + 1)));
    if (!index) continue;
    SeriesBand& band = run.bands[series_key(row, metric, country, sector, partner, segment)];
    if (band.outer_low.empty()) {
      for (std::vector<double>* values : {&band.centre, &band.outer_low, &band.outer_high}) {
        values->assign(points, std::nan(""));
      }
      if (p25 && p75) {
        band.inner_low.assign(points, std::nan(""));
        band.inner_high.assign(points, std::nan(""));
      }
    }
    const std::optional<std::size_t> centre = mean ? mean : p50;
    if (centre) band.centre[*index] = parse_number(row[*centre]);
    band.outer_low[*index] = parse_number(row[*p05]);
    band.outer_high[*index] = parse_number(row[*p95]);
    if (p25 && p75) {
      band.inner_low[*index] = parse_number(row[*p25]);
      band.inner_high[*index] = parse_number(row[*p75]);
    }
  }
}

}  // namespace

std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& file) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  int line = 1;
  int quote_line = 0;
  for (std::size_t at = 0; at < text.size(); ++at) {
    const char c = text[at];
    if (quoted) {
      if (c == '"') {
        if (at + 1 < text.size() && text[at + 1] == '"') {
          field += '"';
          ++at;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        quoted = true;
        quote_line = line;
        field_started = true;
        break;
      case ',':
        record.push_back(std::move(field));
        field.clear();
        field_started = true;
        break;
      case '\r':
        break;
      case '\n':
        record.push_back(std::move(field));
        field.clear();
        records.push_back(std::move(record));
        record.clear();
        field_started = false;
        ++line;
        break;
      default:
        field += c;
        field_started = true;
        break;
    }
  }
  if (quoted) throw IoError(fmt::format("{}:{}: unterminated quoted field", file, quote_line));
  if (field_started || !record.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

double RecordedRun::value(const std::string& series, std::size_t point) const {
  const auto found = values.find(series);
  if (found == values.end() || point >= found->second.size()) return std::nan("");
  return found->second[point];
}

std::optional<std::size_t> RecordedRun::point_of_step(int step) const {
  const auto found = std::lower_bound(steps.begin(), steps.end(), step);
  if (found == steps.end() || *found != step) return std::nullopt;
  return static_cast<std::size_t>(found - steps.begin());
}

RecordedRun read_recorded_run(const fs::path& run_dir) {
  const fs::path file = run_dir / "timeseries.csv";
  std::error_code error;
  if (!fs::is_directory(run_dir, error)) {
    throw IoError(fmt::format("{}: {}, expected a run folder (the --out of techdep run)",
                              run_dir.string(),
                              fs::exists(run_dir, error) ? "not a folder" : "no such folder"));
  }
  if (!fs::is_regular_file(file)) {
    throw IoError(fmt::format("{}: no timeseries.csv (a report needs the long form: run with "
                              "--format long or both)",
                              run_dir.string()));
  }
  const std::string where = file.string();
  const std::vector<std::vector<std::string>> rows = parse_csv(read_text(file), where);
  if (rows.empty()) throw IoError(fmt::format("{}: the file is empty", where));
  const Columns columns(rows.front(), where);
  const std::size_t point = columns.require("point"), replicate = columns.require("replicate"),
                    step = columns.require("step"), date = columns.require("date"),
                    country = columns.require("country"), sector = columns.require("sector"),
                    partner = columns.require("partner"), metric = columns.require("metric"),
                    value = columns.require("value");
  const std::optional<std::size_t> segment = columns.find("segment");

  RecordedRun run;
  // First pass: the recorded steps, so that every series gets one slot per step.
  std::map<int, std::string> dates;
  for (std::size_t line = 1; line < rows.size(); ++line) {
    const std::vector<std::string>& row = rows[line];
    if (row.size() != rows.front().size()) {
      throw IoError(fmt::format("{}:{}: {} fields, the header has {}", where, line + 1, row.size(),
                                rows.front().size()));
    }
    if (row[point] != "0" || row[replicate] != "0") continue;
    dates.emplace(parse_int(row[step], fmt::format("{}:{}", where, line + 1)), row[date]);
  }
  for (const auto& [recorded_step, label] : dates) {
    run.steps.push_back(recorded_step);
    run.dates.push_back(label);
  }
  for (std::size_t line = 1; line < rows.size(); ++line) {
    const std::vector<std::string>& row = rows[line];
    if (row[point] != "0" || row[replicate] != "0") continue;
    std::vector<double>& series =
        run.values[series_key(row, metric, country, sector, partner, segment)];
    if (series.empty()) series.assign(run.steps.size(), std::nan(""));
    series[*run.point_of_step(parse_int(row[step], where))] = parse_number(row[value]);
  }

  const fs::path summary = run_dir / "summary.csv";
  if (fs::is_regular_file(summary)) read_bands(summary, run);

  const fs::path events = run_dir / "events.csv";
  if (fs::is_regular_file(events)) {
    const std::vector<std::vector<std::string>> event_rows =
        parse_csv(read_text(events), events.string());
    if (!event_rows.empty()) {
      const Columns event_columns(event_rows.front(), events.string());
      const std::size_t at = event_columns.require("step"), rule = event_columns.require("rule"),
                        event = event_columns.require("event");
      for (std::size_t line = 1; line < event_rows.size(); ++line) {
        const std::vector<std::string>& row = event_rows[line];
        if (row.size() != event_rows.front().size()) continue;
        run.firings.push_back(
            {parse_int(row[at], fmt::format("{}:{}", events.string(), line + 1)), row[rule],
             row[event]});
      }
    }
  }
  return run;
}

}  // namespace techdep
