#include "techdep/output/timeseries_writer.hpp"

#include <cmath>
#include <system_error>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

namespace {

constexpr std::size_t kFlushBytes = std::size_t{1} << 20;
// Steps waiting for the background writer: enough to ride out a slow write, few enough that a
// large world's values (W3: 60,000 series a step) stay small.
constexpr std::size_t kMaxPendingSteps = 4;

template <typename Id>
std::vector<Id> all_or(const std::vector<Id>& chosen, int count) {
  if (!chosen.empty()) return chosen;
  std::vector<Id> all(static_cast<std::size_t>(count));
  for (int index = 0; index < count; ++index) all[static_cast<std::size_t>(index)] = index;
  return all;
}

std::vector<Metric> selected_metrics(const ScenarioSpec& spec) {
  if (!spec.outputs.metrics.empty()) return spec.outputs.metrics;
  std::vector<Metric> all;
  for (const MetricInfo& info : kMetricCatalogue) all.push_back(info.metric);
  return all;
}

std::string_view partner_label(const ScenarioSpec& spec, Metric metric, int partner) {
  if (partner < 0) return {};
  const auto index = static_cast<std::size_t>(partner);
  return metric_info(metric).shape == MetricShape::CountrySectorBloc ? spec.blocs[index].id
                                                                     : spec.countries[index].id;
}

// The demand segments of a cell, ascending (demand_segments is sorted).
std::vector<SegmentId> cell_segments(const ScenarioSpec& spec, CountryId country,
                                     SectorId sector) {
  std::vector<SegmentId> out;
  for (const SegmentShare& row : spec.demand_segments) {
    if (row.buyer == country && row.sector == sector) out.push_back(row.segment);
  }
  return out;
}

}  // namespace

std::vector<SeriesKey> selected_series(const ScenarioSpec& spec) {
  const std::vector<Metric> metrics = selected_metrics(spec);
  const std::vector<CountryId> countries = all_or(spec.outputs.countries, spec.country_count());
  const std::vector<SectorId> sectors = all_or(spec.outputs.sectors, spec.sector_count());
  std::vector<SeriesKey> series;
  for (const CountryId country : countries) {
    for (const Metric metric : metrics) {
      if (metric_info(metric).shape == MetricShape::Country) {
        series.push_back({metric, country, -1, -1});
      } else if (metric_info(metric).shape == MetricShape::CountryPartner) {
        for (CountryId partner = 0; partner < spec.country_count(); ++partner) {
          series.push_back({metric, country, -1, partner});
        }
      }
    }
    for (const SectorId sector : sectors) {
      const std::vector<SegmentId> segments = cell_segments(spec, country, sector);
      for (const Metric metric : metrics) {
        // The whole, then each demand segment of the cell (per_segment metrics).
        const auto add = [&](int partner) {
          series.push_back({metric, country, sector, partner});
          if (!per_segment(metric)) return;
          for (const SegmentId segment : segments) {
            series.push_back({metric, country, sector, partner, segment});
          }
        };
        switch (metric_info(metric).shape) {
          case MetricShape::Country:
          case MetricShape::CountryPartner:
            break;
          case MetricShape::CountrySector:
            add(-1);
            break;
          case MetricShape::CountrySectorPartner:
            for (CountryId partner = 0; partner < spec.country_count(); ++partner) add(partner);
            break;
          case MetricShape::CountrySectorBloc:
            for (BlocId bloc = 0; bloc < spec.bloc_count(); ++bloc) {
              series.push_back({metric, country, sector, bloc});
            }
            break;
        }
      }
    }
  }
  return series;
}

std::string series_name(const ScenarioSpec& spec, const SeriesKey& key) {
  std::string name(metric_info(key.metric).name);
  name += '.';
  name += spec.countries[static_cast<std::size_t>(key.country)].id;
  if (key.sector >= 0) {
    name += '.';
    name += spec.sectors[static_cast<std::size_t>(key.sector)].id;
  }
  if (key.partner >= 0) {
    name += '.';
    name += partner_label(spec, key.metric, key.partner);
  }
  if (key.segment >= 0) {
    name += '@';
    name += spec.segments[static_cast<std::size_t>(key.segment)].id;
  }
  return name;
}

std::string series_csv_fields(const ScenarioSpec& spec, const SeriesKey& key) {
  std::string fields;
  fields += spec.countries[static_cast<std::size_t>(key.country)].id;
  fields += ',';
  if (key.sector >= 0) fields += spec.sectors[static_cast<std::size_t>(key.sector)].id;
  fields += ',';
  fields += partner_label(spec, key.metric, key.partner);
  fields += ',';
  if (key.segment >= 0) fields += spec.segments[static_cast<std::size_t>(key.segment)].id;
  fields += ',';
  fields += metric_info(key.metric).name;
  return fields;
}

void append_csv_number(std::string& out, double value) {
  if (std::isnan(value)) return;
  // Through a stack buffer: appending through a back_inserter costs more than the formatting.
  // The shortest round-trip form of a double needs at most 24 characters.
  char digits[32];
  const auto written = fmt::format_to_n(digits, sizeof digits, "{}", value);
  out.append(digits, written.size);
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += field;
    return;
  }
  out += '"';
  for (const char character : field) {
    if (character == '"') out += '"';
    out += character;
  }
  out += '"';
}

TimeseriesWriter::TimeseriesWriter(const ScenarioSpec& spec, const TimeseriesFiles& files,
                                   int point, int replicate)
    : spec_(spec), series_(selected_series(spec)) {
  append_csv_field(scenario_point_replicate_, spec.name);
  fmt::format_to(std::back_inserter(scenario_point_replicate_), ",{},{},", point, replicate);

  row_prefix_.reserve(series_.size());
  for (const SeriesKey& key : series_) row_prefix_.push_back(series_csv_fields(spec, key) + ',');

  long_text_ = files.long_text;
  if (files.long_csv) long_file_ = std::make_unique<StagedFile>(*files.long_csv, true);
  if (long_file_ || long_text_) {
    long_buffer_ = kTimeseriesHeader;
  }
  if (files.wide_csv) {
    wide_file_ = std::make_unique<StagedFile>(*files.wide_csv, true);
    wide_buffer_ = "step,date";
    for (const SeriesKey& key : series_) {
      wide_buffer_ += ',';
      // Always five dot-separated slots, empty where a metric has no sector, partner or
      // segment: `domestic_share.RUS.ai..` and `diaspora_by_destination.RUS..EU.` cannot be
      // confused.
      append_csv_field(
          wide_buffer_,
          fmt::format("{}.{}.{}.{}.{} [{}]", metric_info(key.metric).name,
                      spec.countries[static_cast<std::size_t>(key.country)].id,
                      key.sector >= 0 ? spec.sectors[static_cast<std::size_t>(key.sector)].id
                                      : std::string{},
                      key.partner >= 0 ? std::string(partner_label(spec, key.metric, key.partner))
                                       : std::string{},
                      key.segment >= 0 ? spec.segments[static_cast<std::size_t>(key.segment)].id
                                       : std::string{},
                      metric_info(key.metric).unit));
    }
    wide_buffer_ += '\n';
  }
  if (files.in_background) {
    try {
      background_ = std::thread([this] { write_in_background(); });
    } catch (const std::system_error&) {
      // No thread to be had: record() formats and writes each step itself, the same bytes.
    }
  }
}

TimeseriesWriter::~TimeseriesWriter() {
  {
    std::lock_guard lock(mutex_);
    pending_.clear();  // not committed: the staged files are removed, unfinished
  }
  stop_background();
}

void TimeseriesWriter::record(const MetricsFrame& frame) {
  rethrow_background_error();
  std::vector<double> values;
  {
    std::lock_guard lock(mutex_);
    if (!spare_.empty()) {
      values = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  values.resize(series_.size());
  for (std::size_t index = 0; index < series_.size(); ++index) {
    values[index] = series_value(frame, series_[index]);
    // Every selected series exists, so NaN here means the model broke: stop rather than publish
    // it as an empty cell that reads like "no value" (docs/reliability.md, numerical faults).
    if (std::isnan(values[index])) {
      throw NumericalError(fmt::format(
          "step {} ({}): invariant 'finite-output' broken: {} is NaN; nothing was written "
          "(run with --check to find the phase that produced it)",
          frame.step, step_label(spec_.time, frame.step), series_name(spec_, series_[index])));
    }
  }
  if (long_file_ || long_text_) long_rows_ += series_.size();
  if (wide_file_) ++wide_rows_;
  if (!background_.joinable()) {
    format_step(frame.step, values);
    std::lock_guard lock(mutex_);
    spare_.push_back(std::move(values));
    return;
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return pending_.size() < kMaxPendingSteps || background_error_ != nullptr;
  });
  if (background_error_) {
    lock.unlock();
    rethrow_background_error();
  }
  pending_.push_back(Pending{frame.step, std::move(values)});
  changed_.notify_all();
}

void TimeseriesWriter::format_step(int step, const std::vector<double>& values) {
  const std::string date = step_label(spec_.time, step);
  if (long_file_ || long_text_) {
    const std::string step_prefix = fmt::format("{}{},{},", scenario_point_replicate_, step, date);
    for (std::size_t index = 0; index < series_.size(); ++index) {
      long_buffer_ += step_prefix;
      long_buffer_ += row_prefix_[index];
      append_csv_number(long_buffer_, values[index]);
      long_buffer_ += '\n';
      // A large world's frame is megabytes of rows: written as it goes, not held whole.
      flush_if_large();
    }
  }
  if (wide_file_) {
    fmt::format_to(std::back_inserter(wide_buffer_), "{},{}", step, date);
    for (const double value : values) {
      wide_buffer_ += ',';
      append_csv_number(wide_buffer_, value);
    }
    wide_buffer_ += '\n';
  }
  flush_if_large();
}

void TimeseriesWriter::write_in_background() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return !pending_.empty() || finishing_; });
    if (pending_.empty()) return;  // finishing, and everything is written
    Pending step = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    try {
      format_step(step.step, step.values);
    } catch (...) {
      lock.lock();
      background_error_ = std::current_exception();
      pending_.clear();
      changed_.notify_all();
      return;
    }
    lock.lock();
    spare_.push_back(std::move(step.values));
    changed_.notify_all();
  }
}

void TimeseriesWriter::stop_background() {
  if (!background_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    finishing_ = true;
  }
  changed_.notify_all();
  background_.join();
}

void TimeseriesWriter::rethrow_background_error() {
  std::exception_ptr error;
  {
    std::lock_guard lock(mutex_);
    error = background_error_;
  }
  if (error) std::rethrow_exception(error);
}

void TimeseriesWriter::flush_if_large() {
  if (long_file_ && long_buffer_.size() >= kFlushBytes) {
    long_file_->write(long_buffer_);
    long_buffer_.clear();
  }
  if (wide_file_ && wide_buffer_.size() >= kFlushBytes) {
    wide_file_->write(wide_buffer_);
    wide_buffer_.clear();
  }
}

void TimeseriesWriter::commit() {
  stop_background();
  rethrow_background_error();
  if (long_file_) {
    long_file_->write(long_buffer_);
    long_buffer_.clear();
    long_file_->commit();
  }
  if (long_text_) *long_text_ = std::move(long_buffer_);
  if (wide_file_) {
    wide_file_->write(wide_buffer_);
    wide_buffer_.clear();
    wide_file_->commit();
  }
}

const std::string& TimeseriesWriter::long_sha256() const {
  static const std::string none;
  return long_file_ ? long_file_->sha256_hex() : none;
}

const std::string& TimeseriesWriter::wide_sha256() const {
  static const std::string none;
  return wide_file_ ? wide_file_->sha256_hex() : none;
}

}  // namespace techdep
