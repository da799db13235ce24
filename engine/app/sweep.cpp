#include "techdep/app/sweep.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "app/run_executor.hpp"
#include "app/run_support.hpp"
#include "techdep/app/resources.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/parallel.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/core/statistics.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/digest.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep {

namespace fs = std::filesystem;
using detail::Json;

namespace {

// Changes whenever the staging layout or run-file encoding changes: an older incomplete sweep is
// then refused rather than misread.
constexpr std::string_view kStageFormat = "techdep-sweep-stage-2";
constexpr std::string_view kRunMagic = "TDRUN002";
// Replicate values held at once while summarising one point (the quantiles need them all).
constexpr std::size_t kSummaryBudgetBytes = std::size_t{64} << 20;
constexpr std::size_t kAppendFlushBytes = std::size_t{4} << 20;

constexpr std::string_view kSummaryHeader =
    "scenario,point,step,date,country,sector,partner,segment,metric,n,mean,sd,p05,p25,p50,p75,p95,min,"
    "max\n";

enum class RunState : std::uint8_t { Completed = 0, Failed = 1, Interrupted = 2 };

std::string_view state_name(RunState state) {
  switch (state) {
    case RunState::Completed:
      return "completed";
    case RunState::Failed:
      return "failed";
    case RunState::Interrupted:
      return "interrupted";
  }
  return "failed";
}

std::string_view status_name(RunStatus status) {
  switch (status) {
    case RunStatus::Completed:
      return "completed";
    case RunStatus::Partial:
      return "partial";
    case RunStatus::Interrupted:
      return "interrupted";
  }
  return "completed";
}

int exit_code_of(RunStatus status) {
  switch (status) {
    case RunStatus::Completed:
      return 0;
    case RunStatus::Partial:
      return 4;
    case RunStatus::Interrupted:
      return 130;
  }
  return 0;
}

// ---- one run --------------------------------------------------------------------------------

/// The `rows` x `columns` row-major matrix `values`, transposed; in tiles, so that both sides are
/// read and written a cache line at a time.
std::vector<double> transposed(const std::vector<double>& values, std::size_t rows,
                               std::size_t columns) {
  constexpr std::size_t kTile = 32;
  std::vector<double> out(values.size());
  for (std::size_t row0 = 0; row0 < rows; row0 += kTile) {
    const std::size_t row_end = std::min(rows, row0 + kTile);
    for (std::size_t column0 = 0; column0 < columns; column0 += kTile) {
      const std::size_t column_end = std::min(columns, column0 + kTile);
      for (std::size_t row = row0; row < row_end; ++row) {
        for (std::size_t column = column0; column < column_end; ++column) {
          out[column * rows + row] = values[row * columns + column];
        }
      }
    }
  }
  return out;
}

/// What a run produced. Encoded as bytes for run files and MPI messages; the values come last so
/// that a reader can take the rest without them.
struct RunResult {
  std::uint64_t index = 0;
  RunState state = RunState::Completed;
  std::uint32_t session = 0;
  std::string error;
  std::vector<double> samples;        ///< one per uncertain parameter
  std::vector<std::int32_t> steps;    ///< the recorded steps
  std::uint64_t series = 0;
  std::vector<double> values;         ///< [series][step]; empty once encoded and decoded
  /// [series]: 1 where the series keeps one value over every recorded step (decoded runs)
  std::vector<std::uint8_t> constant;
};

template <typename T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
void put_vector(std::string& out, const std::vector<T>& values) {
  put(out, static_cast<std::uint64_t>(values.size()));
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

/// Where `session` sits in an encoded result: the sink stamps it without decoding the values.
constexpr std::size_t kSessionOffset = kRunMagic.size() + sizeof(std::uint64_t) + sizeof(std::uint8_t);

std::string encode(const RunResult& result) {
  std::string out(kRunMagic);
  put(out, result.index);
  put(out, static_cast<std::uint8_t>(result.state));
  put(out, result.session);
  put(out, static_cast<std::uint64_t>(result.error.size()));
  out += result.error;
  put_vector(out, result.samples);
  put_vector(out, result.steps);
  // A series that keeps one value over every step is stored once: most do (W7 records 10,278
  // series, 8,829 of them constant, mostly zero), and the run files, a copy through the page
  // cache and back for every run, shrink from 7.9 MB to 1.2 MB a W7 run. Bitwise comparison, so
  // NaN and -0 are kept as they are.
  const std::size_t steps = result.steps.size();
  std::vector<std::uint8_t> constant(result.series, 0);
  std::vector<double> packed;
  packed.reserve(result.values.size());
  for (std::size_t series = 0; series < result.series; ++series) {
    const double* values = result.values.data() + series * steps;
    constant[series] = steps > 0 && std::all_of(values + 1, values + steps, [&](const double& v) {
                         return std::memcmp(&v, values, sizeof v) == 0;
                       });
    packed.insert(packed.end(), values, values + (constant[series] ? 1 : steps));
  }
  put(out, result.series);
  put_vector(out, constant);
  put_vector(out, packed);
  return out;
}

/// Where series `series` starts among a run's packed values.
std::size_t packed_offset(const RunResult& run, std::size_t series) {
  const std::size_t constant = static_cast<std::size_t>(
      std::count(run.constant.begin(), run.constant.begin() + static_cast<std::ptrdiff_t>(series),
                 std::uint8_t{1}));
  return constant + (series - constant) * run.steps.size();
}

/// Reads an encoded result but its values; `values_offset` receives where they start in `bytes`.
class Decoder {
 public:
  Decoder(std::string_view bytes, std::string_view what) : bytes_(bytes), what_(what) {}

  RunResult decode(std::size_t& values_offset) {
    if (bytes_.substr(0, kRunMagic.size()) != kRunMagic) fail();
    at_ = kRunMagic.size();
    RunResult result;
    result.index = get<std::uint64_t>();
    result.state = static_cast<RunState>(get<std::uint8_t>());
    result.session = get<std::uint32_t>();
    const auto error_size = get<std::uint64_t>();
    if (error_size > bytes_.size() - at_) fail();
    result.error = std::string(bytes_.substr(at_, error_size));
    at_ += error_size;
    result.samples = get_vector<double>();
    result.steps = get_vector<std::int32_t>();
    result.series = get<std::uint64_t>();
    result.constant = get_vector<std::uint8_t>();
    const auto count = get<std::uint64_t>();
    if (result.constant.size() != result.series ||
        std::ranges::any_of(result.constant, [](std::uint8_t flag) { return flag > 1; }) ||
        count != packed_offset(result, result.series) ||
        count > (bytes_.size() - at_) / sizeof(double)) {
      fail();
    }
    values_offset = at_;
    return result;
  }

 private:
  [[noreturn]] void fail() const {
    throw IoError(fmt::format("{}: not a readable run file (remove it to recompute the run)",
                              what_));
  }
  template <typename T>
  T get() {
    if (sizeof(T) > bytes_.size() - at_) fail();
    T value;
    std::memcpy(&value, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return value;
  }
  template <typename T>
  std::vector<T> get_vector() {
    const auto count = get<std::uint64_t>();
    if (count > (bytes_.size() - at_) / sizeof(T)) fail();
    std::vector<T> values(count);
    // memcpy from or to the null data() of an empty vector is undefined even for 0 bytes.
    if (count > 0) std::memcpy(values.data(), bytes_.data() + at_, count * sizeof(T));
    at_ += count * sizeof(T);
    return values;
  }

  std::string_view bytes_;
  std::string_view what_;
  std::size_t at_ = 0;
};

struct Plan {
  int points = 1;
  int replicates = 1;
  std::uint64_t base_seed = 1;
  bool use_sweep = true;

  std::size_t total() const {
    return static_cast<std::size_t>(points) * static_cast<std::size_t>(replicates);
  }
  int point_of(std::size_t index) const { return static_cast<int>(index / replicates_u()); }
  int replicate_of(std::size_t index) const { return static_cast<int>(index % replicates_u()); }
  std::uint64_t seed_of(std::size_t index) const {
    // The point plays no part: the points of a sweep share random numbers (common random
    // numbers), so the difference between two points carries no sampling noise of its own.
    return run_seed(base_seed, static_cast<std::uint64_t>(replicate_of(index)));
  }
  std::size_t replicates_u() const { return static_cast<std::size_t>(replicates); }
};

std::vector<int> recorded_steps(const ScenarioSpec& spec) {
  std::vector<int> steps;
  for (int step = 0; step <= spec.time.steps; ++step) {
    if (step % spec.outputs.every == 0 || step == spec.time.steps) steps.push_back(step);
  }
  return steps;
}

/// Draws every uncertain parameter of one run from its own stream (Population::Parameters,
/// keyed by the run seed and the parameter's index).
std::vector<double> sample_uncertain(const ScenarioSpec& spec, std::uint64_t seed) {
  std::vector<double> values;
  values.reserve(spec.uncertain.size());
  for (std::size_t index = 0; index < spec.uncertain.size(); ++index) {
    const CounterRng stream(stream_key(seed, Population::Parameters, static_cast<int>(index), 0));
    values.push_back(sample(spec.uncertain[index].distribution, stream, 0));
  }
  return values;
}

/// The scenario a run simulates: its sweep point and sampled values applied.
ScenarioSpec run_spec(const LoadedScenario& loaded, const Plan& plan, int point,
                      const std::vector<double>& samples) {
  const int sweep_point = plan.use_sweep && !loaded.spec.sweep.paths.empty() ? point : -1;
  if (sweep_point < 0 && samples.empty()) return loaded.spec;
  return loaded.point_spec(sweep_point, samples);
}

RunResult execute_run(const LoadedScenario& loaded, const Plan& plan, std::size_t index,
                      bool check_invariants, const std::atomic<bool>* interrupt) {
  RunResult result;
  result.index = index;
  try {
    const std::uint64_t seed = plan.seed_of(index);
    result.samples = sample_uncertain(loaded.spec, seed);
    ScenarioSpec spec = run_spec(loaded, plan, plan.point_of(index), result.samples);
    spec.seed = plan.base_seed;  // the simulation derives the same run seed from it
    const std::vector<SeriesKey> keys = selected_series(spec);
    const std::vector<int> steps = recorded_steps(spec);
    result.steps.assign(steps.begin(), steps.end());
    result.series = keys.size();
    // Recorded step by step, contiguously, and turned series-major once at the end: writing
    // each step's values straight into [series][step] (a stride of the step count) was a cache
    // miss a value, 10% of W7.
    std::vector<double> by_step(keys.size() * steps.size(), 0.0);
    SimulationOptions options;
    options.check_invariants = check_invariants;
    options.replicate = static_cast<std::uint64_t>(plan.replicate_of(index));
    options.point = static_cast<std::uint64_t>(plan.point_of(index));
    options.frames = FrameSchedule::RecordedSteps;  // as `techdep run`: the same bytes
    options.metrics = MetricScope::Scenario;
    Simulation simulation(spec, options);
    // The series resolved once: a value's lookup (a switch and its index) cost 5% of W7.
    const MetricsFrame& frame = simulation.metrics();
    std::vector<const double*> sources;
    sources.reserve(keys.size());
    for (const SeriesKey& key : keys) {
      sources.push_back(frame.address(key.metric, key.country, key.sector, key.partner,
                                      key.segment));
    }
    std::size_t column = 0;
    const auto record = [&] {
      if (column >= steps.size() || simulation.step_index() != steps[column]) return;
      simulation.metrics();  // computes this step's frame, in place
      double* const row = by_step.data() + column * keys.size();
      for (std::size_t series = 0; series < keys.size(); ++series) row[series] = *sources[series];
      ++column;
    };
    record();
    while (!simulation.finished()) {
      if (interrupt != nullptr && interrupt->load()) {
        result.state = RunState::Interrupted;
        result.steps.clear();
        result.series = 0;
        result.values.clear();
        return result;
      }
      simulation.step();
      record();
    }
    result.values = transposed(by_step, steps.size(), keys.size());
  } catch (const std::exception& error) {
    result.state = RunState::Failed;
    result.error = error.what();
    result.steps.clear();
    result.series = 0;
    result.values.clear();
  }
  return result;
}

// ---- the staging folder ---------------------------------------------------------------------

void append_durably(const fs::path& path, std::string_view text) {
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) throw IoError(fmt::format("{}: cannot open for appending", path.string()));
  const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size() &&
                  std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!ok || !closed) throw IoError(fmt::format("{}: write failed (disk full?)", path.string()));
}

/// Writes a run file through a temporary name, without syncing: a run file lost in a crash is
/// only recomputed (an unreadable one is discarded on resume), and a sync per run would cost more
/// than a short run itself. What must survive (state, summaries, journal) is synced per point.
void write_run_file(const fs::path& path, std::string_view bytes) {
  const fs::path temp = fs::path(path).concat(".tmp");
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw IoError(fmt::format("{}: write failed (disk full?)", temp.string()));
  }
  std::error_code error;
  fs::rename(temp, path, error);
  if (error) throw IoError(fmt::format("{}: cannot rename: {}", path.string(), error.message()));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot read", path.string()));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// What survives an interruption: how far the appendable files are committed.
struct StageState {
  std::string fingerprint;
  int sessions = 0;
  int completed_points = 0;
  std::uintmax_t summary_bytes = 0;
  std::uintmax_t timeseries_bytes = 0;
  std::uintmax_t journal_bytes = 0;
};

/// `<out>.incomplete/`: the sweep while it runs. Appendable files grow point by point, a state
/// file says how much of them is committed, and finished runs of unfinished points wait in
/// runs/<index>.run. Renamed to `<out>` when every run is done.
class SweepStage {
 public:
  SweepStage(fs::path final_dir, const std::string& fingerprint, bool resume, bool timeseries)
      : final_dir_(std::move(final_dir)), dir_(incomplete_dir(final_dir_)),
        timeseries_(timeseries) {
    std::error_code error;
    if (fs::exists(final_dir_, error)) {
      throw IoError(fmt::format("{}: exists already; a finished folder is never overwritten",
                                final_dir_.string()));
    }
    if (fs::exists(dir_, error)) {
      if (!resume) {
        throw IoError(fmt::format(
            "{}: an unfinished sweep is there; finish it with --resume or remove it",
            dir_.string()));
      }
      load_state(fingerprint);
      resumed_ = true;
    } else {
      fs::create_directories(dir_ / "runs", error);
      if (error) {
        throw IoError(fmt::format("{}: cannot create: {}", dir_.string(), error.message()));
      }
      state_.fingerprint = fingerprint;
      write_file_atomically(file("summary.csv"), kSummaryHeader);
      state_.summary_bytes = kSummaryHeader.size();
      if (timeseries_) {
        write_file_atomically(file("timeseries.csv"), kTimeseriesHeader);
        state_.timeseries_bytes = kTimeseriesHeader.size();
      }
      write_file_atomically(file("runs.jsonl"), "");
    }
    ++state_.sessions;
    save_state();
  }

  const fs::path& dir() const { return dir_; }
  const fs::path& final_dir() const { return final_dir_; }
  fs::path file(std::string_view name) const { return dir_ / name; }
  fs::path run_file(std::size_t index) const { return dir_ / "runs" / fmt::format("{}.run", index); }
  StageState& state() { return state_; }
  bool resumed() const { return resumed_; }
  bool timeseries() const { return timeseries_; }

  void save_state() {
    const Json json = {{"format", kStageFormat},
                       {"fingerprint", state_.fingerprint},
                       {"sessions", state_.sessions},
                       {"completed_points", state_.completed_points},
                       {"summary_bytes", state_.summary_bytes},
                       {"timeseries_bytes", state_.timeseries_bytes},
                       {"journal_bytes", state_.journal_bytes}};
    write_file_atomically(file("state.json"), json.dump(2) + "\n");
  }

  /// Removes the staging-only files and renames the folder into place.
  void commit() {
    std::error_code error;
    fs::remove_all(dir_ / "runs", error);
    fs::remove(file("state.json"), error);
    fs::remove(file("runs.jsonl"), error);
    if (fs::exists(final_dir_, error)) {
      throw IoError(fmt::format("{}: appeared while the sweep ran; results stay in {}",
                                final_dir_.string(), dir_.string()));
    }
    fs::rename(dir_, final_dir_, error);
    if (error) {
      throw IoError(fmt::format("{}: cannot rename into place: {}", dir_.string(),
                                error.message()));
    }
  }

 private:
  void load_state(const std::string& fingerprint) {
    Json json;
    try {
      json = Json::parse(read_file(file("state.json")));
      if (json.at("format") != kStageFormat) throw IoError("format");
      state_.fingerprint = json.at("fingerprint").get<std::string>();
      state_.sessions = json.at("sessions").get<int>();
      state_.completed_points = json.at("completed_points").get<int>();
      state_.summary_bytes = json.at("summary_bytes").get<std::uintmax_t>();
      state_.timeseries_bytes = json.at("timeseries_bytes").get<std::uintmax_t>();
      state_.journal_bytes = json.at("journal_bytes").get<std::uintmax_t>();
    } catch (const std::exception&) {
      throw IoError(fmt::format("{}: not an unfinished sweep this version can resume",
                                dir_.string()));
    }
    if (state_.fingerprint != fingerprint) {
      throw UsageError(fmt::format(
          "{}: was started with a different scenario, seed, replicates or outputs; resume it "
          "with the same arguments, or remove it",
          dir_.string()));
    }
    // Anything appended after the last committed point is redone from its run files.
    const auto truncate = [&](std::string_view name, std::uintmax_t bytes) {
      std::error_code error;
      fs::resize_file(file(name), bytes, error);
      if (error) throw IoError(fmt::format("{}: cannot truncate: {}", file(name).string(), error.message()));
    };
    truncate("summary.csv", state_.summary_bytes);
    if (timeseries_) truncate("timeseries.csv", state_.timeseries_bytes);
    truncate("runs.jsonl", state_.journal_bytes);
  }

  fs::path final_dir_;
  fs::path dir_;
  bool timeseries_;
  bool resumed_ = false;
  StageState state_;
};

/// A finished run waiting on disk for the rest of its point.
struct PendingRun {
  RunResult meta;               ///< without values (`constant` says how they are packed)
  std::size_t values_offset = 0;
};

// ---- writing a point ------------------------------------------------------------------------

class PointWriter {
 public:
  PointWriter(const LoadedScenario& loaded, const Plan& plan, SweepStage& stage, int threads)
      : loaded_(loaded), plan_(plan), stage_(stage), threads_(threads) {}

  /// Appends the point's summary (and timeseries) rows and journal lines, commits the state, and
  /// removes the point's run files. `runs` holds every replicate of the point, in order.
  void write(int point, const std::vector<PendingRun>& runs) {
    std::vector<const PendingRun*> completed;
    for (const PendingRun& run : runs) {
      if (run.meta.state == RunState::Completed) completed.push_back(&run);
    }
    if (!completed.empty()) {
      const ScenarioSpec spec = run_spec(loaded_, plan_, point, {});
      const std::vector<SeriesKey> keys = selected_series(spec);
      for (const PendingRun* run : completed) {
        if (run->meta.series != keys.size() || run->meta.steps != completed.front()->meta.steps) {
          throw NumericalError(fmt::format(
              "point {}: replicates recorded different series; uncertain parameters must not "
              "change what a run records",
              point));
        }
      }
      std::vector<std::string> fields;
      fields.reserve(keys.size());
      for (const SeriesKey& key : keys) fields.push_back(series_csv_fields(spec, key));
      std::string prefix;
      append_csv_field(prefix, spec.name);
      prefix += fmt::format(",{},", point);
      write_summary(spec, prefix, fields, completed);
      if (stage_.timeseries()) write_timeseries(spec, prefix, fields, completed);
    }
    std::string journal;
    for (const PendingRun& run : runs) {
      Json line = {{"run", run.meta.index},
                   {"point", plan_.point_of(run.meta.index)},
                   {"replicate", plan_.replicate_of(run.meta.index)},
                   {"seed", plan_.seed_of(run.meta.index)},
                   {"status", state_name(run.meta.state)},
                   {"session", run.meta.session},
                   {"samples", run.meta.samples}};
      if (!run.meta.error.empty()) line["error"] = run.meta.error;
      journal += line.dump() + "\n";
    }
    append_durably(stage_.file("runs.jsonl"), journal);
    StageState& state = stage_.state();
    state.completed_points = point + 1;
    std::error_code error;
    state.summary_bytes = fs::file_size(stage_.file("summary.csv"), error);
    if (stage_.timeseries()) state.timeseries_bytes = fs::file_size(stage_.file("timeseries.csv"), error);
    state.journal_bytes = fs::file_size(stage_.file("runs.jsonl"), error);
    if (error) throw IoError(fmt::format("{}: {}", stage_.dir().string(), error.message()));
    stage_.save_state();
    for (const PendingRun& run : runs) fs::remove(stage_.run_file(run.meta.index), error);
  }

 private:
  std::vector<double> read_values(const PendingRun& run, std::size_t first_series,
                                  std::size_t series_count) {
    const std::size_t steps = run.meta.steps.size();
    const std::size_t from = packed_offset(run.meta, first_series);
    std::vector<double> packed(packed_offset(run.meta, first_series + series_count) - from);
    std::ifstream in(stage_.run_file(run.meta.index), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(run.values_offset + from * sizeof(double)));
    in.read(reinterpret_cast<char*>(packed.data()),
            static_cast<std::streamsize>(packed.size() * sizeof(double)));
    if (!in) {
      throw IoError(fmt::format("{}: cannot read", stage_.run_file(run.meta.index).string()));
    }
    std::vector<double> values(series_count * steps);
    const double* next = packed.data();
    for (std::size_t series = 0; series < series_count; ++series) {
      double* out = values.data() + series * steps;
      if (run.meta.constant[first_series + series]) {
        std::fill(out, out + steps, *next++);
      } else {
        std::copy(next, next + steps, out);
        next += steps;
      }
    }
    return values;
  }

  void flush(std::string_view name, std::string& text, bool force) {
    if (text.size() < kAppendFlushBytes && !force) return;
    append_durably(stage_.file(name), text);
    text.clear();
  }

  void write_summary(const ScenarioSpec& spec, const std::string& prefix,
                     const std::vector<std::string>& fields,
                     const std::vector<const PendingRun*>& runs) {
    const std::vector<std::int32_t>& steps = runs.front()->meta.steps;
    const std::size_t series_total = runs.front()->meta.series;
    const std::size_t per_series = std::max<std::size_t>(1, runs.size() * steps.size() * sizeof(double));
    const std::size_t chunk = std::max<std::size_t>(1, kSummaryBudgetBytes / per_series);
    std::vector<std::string> dates;
    for (const std::int32_t step : steps) dates.push_back(step_label(spec.time, step));
    std::string text;
    for (std::size_t first = 0; first < series_total; first += chunk) {
      const std::size_t count = std::min(chunk, series_total - first);
      std::vector<std::vector<double>> blocks;
      blocks.reserve(runs.size());
      for (const PendingRun* run : runs) blocks.push_back(read_values(*run, first, count));
      // Sorting each sample is most of the work with many replicates: the chunk's series are
      // split into contiguous parts, one per thread, whose rows are joined in order (the same
      // bytes on any thread count).
      const std::size_t parts = std::clamp<std::size_t>(static_cast<std::size_t>(threads_), 1, count);
      std::vector<std::string> part_text(parts);
      parallel_for(parts, threads_, [&](std::size_t part) {
        std::vector<double> sample(runs.size());
        std::string& out = part_text[part];
        for (std::size_t series = count * part / parts; series < count * (part + 1) / parts;
             ++series) {
          for (std::size_t column = 0; column < steps.size(); ++column) {
            for (std::size_t replicate = 0; replicate < runs.size(); ++replicate) {
              sample[replicate] = blocks[replicate][series * steps.size() + column];
            }
            const SampleSummary stats = summarize(sample);
            out += prefix;
            out += fmt::format("{},{},", steps[column], dates[column]);
            out += fields[first + series];
            out += fmt::format(",{}", stats.n);
            for (const double value : {stats.mean, stats.sd, stats.p05, stats.p25, stats.p50,
                                       stats.p75, stats.p95, stats.min, stats.max}) {
              out += ',';
              append_csv_number(out, value);
            }
            out += '\n';
          }
        }
      });
      for (const std::string& part : part_text) text += part;
      flush("summary.csv", text, false);
    }
    flush("summary.csv", text, true);
  }

  void write_timeseries(const ScenarioSpec& spec, const std::string& prefix,
                        const std::vector<std::string>& fields,
                        const std::vector<const PendingRun*>& runs) {
    std::string text;
    for (const PendingRun* run : runs) {
      const std::vector<double> values = read_values(*run, 0, run->meta.series);
      const std::size_t steps = run->meta.steps.size();
      const std::string run_prefix = prefix + fmt::format("{},", plan_.replicate_of(run->meta.index));
      for (std::size_t column = 0; column < steps; ++column) {
        const std::int32_t step = run->meta.steps[column];
        const std::string step_fields = fmt::format("{},{},", step, step_label(spec.time, step));
        for (std::size_t series = 0; series < run->meta.series; ++series) {
          text += run_prefix;
          text += step_fields;
          text += fields[series];
          text += ',';
          append_csv_number(text, values[series * steps + column]);
          text += '\n';
        }
        flush("timeseries.csv", text, false);
      }
    }
    flush("timeseries.csv", text, true);
  }

  const LoadedScenario& loaded_;
  const Plan& plan_;
  SweepStage& stage_;
  int threads_;
};

// ---- the final files ------------------------------------------------------------------------

std::string points_csv(const ScenarioSpec& spec, const Plan& plan) {
  std::string csv = "point";
  const bool sweep = plan.use_sweep && !spec.sweep.paths.empty();
  if (sweep) {
    for (const std::string& path : spec.sweep.paths) {
      csv += ',';
      append_csv_field(csv, path);
    }
  }
  csv += '\n';
  for (int point = 0; point < plan.points; ++point) {
    csv += fmt::format("{}", point);
    if (sweep) {
      for (const std::string& value : spec.sweep.values[static_cast<std::size_t>(point)]) {
        csv += ',';
        append_csv_field(csv, value);
      }
    }
    csv += '\n';
  }
  return csv;
}

std::vector<Json> read_journal(const SweepStage& stage) {
  std::vector<Json> runs;
  std::ifstream in(stage.file("runs.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) runs.push_back(Json::parse(line));
  }
  return runs;
}

std::string runs_csv(const ScenarioSpec& spec, const std::vector<Json>& runs) {
  std::string csv = "point,replicate,seed,status";
  for (const UncertainSpec& uncertain : spec.uncertain) {
    csv += ',';
    append_csv_field(csv, uncertain.path);
  }
  csv += '\n';
  for (const Json& run : runs) {
    csv += fmt::format("{},{},{},{}", run.at("point").get<int>(), run.at("replicate").get<int>(),
                       run.at("seed").get<std::uint64_t>(), run.at("status").get<std::string>());
    const auto samples = run.at("samples").get<std::vector<double>>();
    for (std::size_t index = 0; index < spec.uncertain.size(); ++index) {
      csv += ',';
      if (index < samples.size()) append_csv_number(csv, samples[index]);
    }
    csv += '\n';
  }
  return csv;
}

std::string fingerprint(const std::string& resolved, const Plan& plan, bool timeseries) {
  return sha256_hex(fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}", kStageFormat, resolved,
                                plan.base_seed, plan.replicates, plan.points, plan.use_sweep,
                                timeseries));
}

std::size_t count_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::size_t lines = 0;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    lines += static_cast<std::size_t>(std::count(buffer, buffer + in.gcount(), '\n'));
  }
  return lines;
}

/// `--resume` on a folder that finished already: the outcome it recorded when the manifest
/// carries the same fingerprint, so that resuming is idempotent (a script may resume whether or
/// not the last session was cut short). Nullopt when there is nothing finished at `out_dir`.
std::optional<SweepOutcome> finished_already(const fs::path& out_dir, const std::string& print,
                                             const std::string& command) {
  std::error_code error;
  if (fs::exists(incomplete_dir(out_dir), error) || !fs::exists(out_dir / "manifest.json", error)) {
    return std::nullopt;
  }
  Json manifest;
  try {
    manifest = Json::parse(read_file(out_dir / "manifest.json"));
  } catch (const Json::exception&) {
    return std::nullopt;
  }
  if (manifest.value("sweep_fingerprint", std::string{}) != print) {
    throw UsageError(fmt::format(
        "{}: exists already and was made with a different scenario, seed, replicates or outputs; "
        "nothing to resume (choose another --out)",
        out_dir.string()));
  }
  SweepOutcome outcome;
  outcome.out_dir = out_dir;
  outcome.status = manifest.value("status", std::string{}) == "partial" ? RunStatus::Partial
                                                                          : RunStatus::Completed;
  outcome.runs_total = manifest.value("runs", Json::array()).size();
  outcome.summary = fmt::format("{}: {} finished already ({} runs); nothing to resume\n", command,
                                out_dir.string(), outcome.runs_total);
  return outcome;
}

}  // namespace

RunOutcome run_replicates(const RunRequest& request, int replicates) {
  if (request.format != OutputFormat::Long) {
    throw UsageError("--format wide and both write one run; with several replicates "
                     "timeseries.csv (long) carries a replicate column");
  }
  SweepRequest sweep;
  sweep.scenario_path = request.scenario_path;
  sweep.overrides = request.overrides;
  sweep.seed = request.seed;
  sweep.replicates = replicates;
  sweep.out_dir = request.out_dir;
  sweep.use_sweep = false;
  sweep.write_timeseries = !request.summary_only;
  sweep.resume = request.resume;
  sweep.check_invariants = request.check_invariants;
  sweep.threads = request.threads;
  sweep.command = "run";
  sweep.argv = request.argv;
  sweep.interrupt = request.interrupt;
  sweep.on_progress = request.on_progress;
  const SweepOutcome result = run_sweep(sweep);
  RunOutcome outcome;
  outcome.run_dir = result.out_dir;
  outcome.status = result.status;
  outcome.summary = result.summary;
  outcome.replicates = replicates;
  outcome.mpi_worker = result.mpi_worker;
  return outcome;
}

fs::path incomplete_dir(const fs::path& out_dir) {
  fs::path clean = out_dir;
  if (!clean.has_filename()) clean = clean.parent_path();
  return clean.parent_path() / (clean.filename().string() + ".incomplete");
}

SweepOutcome run_sweep(const SweepRequest& request) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point started = Clock::now();
  const std::string started_utc = detail::utc_now();
  // First, so that every MPI rank is initialised before anything can fail.
  const std::unique_ptr<detail::RunExecutor> executor = detail::make_run_executor(request.threads);

  LoadOptions load_options;
  load_options.overrides = request.overrides;
  // Refused from the sizes before the loader builds its dense tables (gigabytes for a 30 KB file
  // declaring the largest world).
  load_options.before_build = [&](std::uint64_t countries, std::uint64_t sectors) {
    check_memory_before_loading(request.scenario_path, countries, sectors,
                                available_memory_bytes());
  };
  const LoadedScenario loaded = load_scenario(request.scenario_path, load_options);
  Plan plan;
  plan.use_sweep = request.use_sweep;
  plan.points = request.use_sweep ? loaded.spec.sweep.point_count() : 1;
  plan.replicates = request.replicates.value_or(loaded.spec.replicates);
  plan.base_seed = request.seed.value_or(loaded.spec.seed);
  if (plan.replicates < 1) throw UsageError("replicates: must be at least 1");
  const bool check = request.check_invariants;
  const auto task = [&](std::size_t index) {
    return encode(execute_run(loaded, plan, index, check, request.interrupt));
  };

  SweepOutcome outcome;
  outcome.runs_total = plan.total();
  if (!executor->coordinator()) {
    executor->execute({}, task, {}, request.interrupt);
    outcome.mpi_worker = true;
    const int code = executor->finish(0);
    outcome.status = code == 130 ? RunStatus::Interrupted
                     : code == 4 ? RunStatus::Partial
                                 : RunStatus::Completed;
    return outcome;
  }

  const fs::path out_dir =
      request.out_dir ? *request.out_dir : default_run_dir("runs", loaded.spec.name);
  const std::string resolved = loaded.resolved_yaml(out_dir.string());
  const std::string print = fingerprint(resolved, plan, request.write_timeseries);
  if (request.resume) {
    if (std::optional<SweepOutcome> done = finished_already(out_dir, print, request.command)) {
      executor->finish(exit_code_of(done->status));
      return *done;
    }
  }
  SweepStage stage(out_dir, print, request.resume, request.write_timeseries);
  const auto session = static_cast<std::uint32_t>(stage.state().sessions);
  if (!stage.resumed()) {
    write_file_atomically(stage.file("scenario.resolved.yaml"), resolved);
    write_file_atomically(stage.file("points.csv"), points_csv(loaded.spec, plan));
  }

  // Finished runs of points not yet written, from this session or an interrupted one.
  std::map<std::size_t, PendingRun> pending;
  const std::size_t first_open = static_cast<std::size_t>(stage.state().completed_points) *
                                 plan.replicates_u();
  std::size_t failed = 0;
  for (std::size_t index = first_open; index < plan.total(); ++index) {
    const fs::path path = stage.run_file(index);
    std::error_code error;
    if (!fs::exists(path, error)) continue;
    const std::string bytes = read_file(path);
    PendingRun run;
    try {
      run.meta = Decoder(bytes, path.string()).decode(run.values_offset);
    } catch (const IoError&) {
      fs::remove(path, error);  // cut short by a crash: compute the run again
      continue;
    }
    if (run.meta.index != index) continue;
    failed += run.meta.state == RunState::Failed ? 1 : 0;
    pending.emplace(index, std::move(run));
  }
  for (const Json& run : read_journal(stage)) {
    failed += run.at("status") == "failed" ? 1 : 0;
  }
  std::vector<std::size_t> todo;
  for (std::size_t index = first_open; index < plan.total(); ++index) {
    if (!pending.contains(index)) todo.push_back(index);
  }
  std::size_t done = plan.total() - todo.size();

  PointWriter writer(loaded, plan, stage, request.threads);
  const auto write_ready_points = [&] {
    while (stage.state().completed_points < plan.points) {
      const int point = stage.state().completed_points;
      const std::size_t first = static_cast<std::size_t>(point) * plan.replicates_u();
      std::vector<PendingRun> runs;
      for (std::size_t index = first; index < first + plan.replicates_u(); ++index) {
        const auto found = pending.find(index);
        if (found == pending.end()) return;
        runs.push_back(found->second);
      }
      writer.write(point, runs);
      for (std::size_t index = first; index < first + plan.replicates_u(); ++index) {
        pending.erase(index);
      }
    }
  };
  write_ready_points();

  const auto sink = [&](std::string encoded) {
    PendingRun run;
    run.meta = Decoder(encoded, "run result").decode(run.values_offset);
    if (run.meta.state == RunState::Interrupted) return;
    // The values (megabytes) are written as they came; only the session is stamped in place.
    run.meta.session = session;
    std::memcpy(encoded.data() + kSessionOffset, &session, sizeof session);
    const std::size_t index = run.meta.index;
    write_run_file(stage.run_file(index), encoded);
    failed += run.meta.state == RunState::Failed ? 1 : 0;
    pending.emplace(index, std::move(run));
    ++done;
    ++outcome.runs_this_session;
    // After Ctrl-C the runs still queued are only saved (their run files, for --resume): writing
    // their points' summaries is the slow part, and draining them kept a sweep going for 10 s
    // after the signal, even to "completed" and exit 0 when every run had been computed.
    if (request.interrupt == nullptr || !request.interrupt->load()) write_ready_points();
    if (request.on_progress) request.on_progress(SweepProgress{done, plan.total(), failed});
  };
  const double setup_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const Clock::time_point run_start = Clock::now();
  executor->execute(todo, task, sink, request.interrupt);
  const double run_seconds = std::chrono::duration<double>(Clock::now() - run_start).count();

  const bool finished = stage.state().completed_points == plan.points;
  const std::vector<Json> journal = read_journal(stage);
  outcome.runs_failed = failed;
  outcome.status = !finished   ? RunStatus::Interrupted
                   : failed > 0 ? RunStatus::Partial
                                : RunStatus::Completed;

  Json runs = Json::array();
  std::string failures;
  const auto add_run = [&](Json run) {
    if (run.at("status") == "failed" && failures.size() < 2000) {
      failures += fmt::format("  failed: point {} replicate {}: {}\n", run.at("point").get<int>(),
                              run.at("replicate").get<int>(), run.at("error").get<std::string>());
    }
    runs.push_back(std::move(run));
  };
  for (const Json& run : journal) add_run(run);
  for (const auto& [index, run] : pending) {
    Json entry = {{"run", index},
                  {"point", plan.point_of(index)},
                  {"replicate", plan.replicate_of(index)},
                  {"seed", plan.seed_of(index)},
                  {"status", state_name(run.meta.state)},
                  {"session", run.meta.session},
                  {"samples", run.meta.samples}};
    if (!run.meta.error.empty()) entry["error"] = run.meta.error;
    add_run(std::move(entry));
  }

  const std::string unswept =
      plan.use_sweep ? std::string{} : detail::unswept_note(loaded.spec, request.scenario_path);
  outcome.summary = fmt::format(
      "{}{} {}: {} point{} x {} replicate{} = {} runs ({} this session, {} failed){}\n{}",
      unswept.empty() ? std::string{} : unswept + "\n", request.command, loaded.spec.name, plan.points, plan.points == 1 ? "" : "s", plan.replicates,
      plan.replicates == 1 ? "" : "s", plan.total(), outcome.runs_this_session, failed,
      finished ? "" : fmt::format("; {} of {} done", done, plan.total()), failures);

  Json outputs = Json::array();
  const auto add_output = [&](std::string_view name, bool rows) {
    Json entry = {{"file", name}, {"sha256", sha256_file_hex(stage.file(name))}};
    if (rows) entry["rows"] = count_lines(stage.file(name)) - 1;
    outputs.push_back(entry);
  };
  if (finished) {
    write_file_atomically(stage.file("runs.csv"), runs_csv(loaded.spec, journal));
    write_file_atomically(stage.file("summary.txt"), outcome.summary);
    add_output("scenario.resolved.yaml", false);
    add_output("points.csv", true);
    add_output("runs.csv", true);
    add_output("summary.csv", true);
    if (request.write_timeseries) add_output("timeseries.csv", true);
    add_output("summary.txt", false);
  }

  Json manifest = detail::build_provenance();
  manifest["command"] = request.command;
  manifest["threads"] = request.threads;
  manifest["mpi_ranks"] = executor->ranks();
  manifest["started_utc"] = started_utc;
  manifest["finished_utc"] = detail::utc_now();
  manifest["argv"] = request.argv;
  manifest["overrides"] = detail::override_texts(request.overrides);
  manifest["scenario"] = {{"name", loaded.spec.name}, {"file", request.scenario_path}};
  manifest["inputs"] = detail::input_digests(loaded.input_files);
  manifest["resolved_scenario_sha256"] = sha256_hex(resolved);
  manifest["mode"] = loaded.spec.mode == Mode::Agents ? "agents" : "aggregate";
  manifest["base_seed"] = plan.base_seed;
  manifest["seed_rule"] =
      "run seed = run_seed(base_seed, replicate) (include/techdep/core/rng.hpp), the same at every "
      "point (common random numbers); "
      "uncertain parameter k draws from stream_key(run seed, Parameters, k, 0)";
  manifest["points"] = plan.points;
  manifest["replicates"] = plan.replicates;
  manifest["sweep_fingerprint"] = print;
  manifest["sessions"] = stage.state().sessions;
  manifest["runs"] = runs;
  manifest["timings_s"] = {{"setup", setup_seconds}, {"runs", run_seconds}};
  manifest["outputs"] = outputs;
  manifest["warnings"] = loaded.warnings;
  if (!unswept.empty()) manifest["warnings"].push_back(unswept);
  manifest["status"] = status_name(outcome.status);
  manifest["exit_code"] = exit_code_of(outcome.status);
  write_file_atomically(stage.file("manifest.json"), manifest.dump(2) + "\n");

  if (finished) {
    stage.commit();
    outcome.out_dir = stage.final_dir();
  } else {
    outcome.out_dir = stage.dir();
  }
  executor->finish(exit_code_of(outcome.status));
  return outcome;
}

}  // namespace techdep
