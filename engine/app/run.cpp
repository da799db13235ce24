#include "techdep/app/run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/run_support.hpp"
#include "techdep/app/resources.hpp"
#include "techdep/app/sweep.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/digest.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"

namespace techdep {

namespace fs = std::filesystem;
using detail::Json;
using detail::utc_now;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string_view status_name(RunStatus status) {
  return status == RunStatus::Completed ? "completed" : "interrupted";
}

// Sector-weighted mean of a country-sector metric, the same weights as sovereignty.
double weighted_mean(const ScenarioSpec& spec, const MetricsFrame& frame, Metric metric,
                     CountryId country) {
  const CountrySpec& info = spec.countries[static_cast<std::size_t>(country)];
  double total = 0.0;
  for (SectorId sector = 0; sector < spec.sector_count(); ++sector) {
    total += info.sector_weights[static_cast<std::size_t>(sector)] *
             frame.value(metric, country, sector, -1);
  }
  return total;
}

}  // namespace

std::vector<CountryId> focus_countries(const ScenarioSpec& spec) {
  std::vector<CountryId> focus = spec.outputs.countries;
  if (focus.empty()) {
    for (CountryId country = 0; country < std::min(spec.country_count(), 3); ++country) {
      focus.push_back(country);
    }
  }
  if (focus.size() > 4) focus.resize(4);
  return focus;
}

namespace {

// The summary reads only cell- and country-level metrics of the first frame: its flow-sized
// arrays (three of C x S x C doubles, 96 MB on the benchmark world W3) are not kept.
MetricsFrame without_flows(const MetricsFrame& frame) {
  MetricsFrame copy;
  copy.step = frame.step;
  copy.countries = frame.countries;
  copy.sectors = frame.sectors;
  copy.blocs = frame.blocs;
  copy.domestic_share = frame.domestic_share;
  copy.import_share = frame.import_share;
  copy.shortage = frame.shortage;
  copy.rerouted_share = frame.rerouted_share;
  copy.hhi = frame.hhi;
  copy.critical = frame.critical;
  copy.capacity = frame.capacity;
  copy.price_index = frame.price_index;
  copy.bloc_share = frame.bloc_share;
  copy.talent = frame.talent;
  copy.emigrants = frame.emigrants;
  copy.returns = frame.returns;
  copy.diaspora = frame.diaspora;
  copy.sovereignty = frame.sovereignty;
  copy.diaspora_by_destination = frame.diaspora_by_destination;
  return copy;
}

std::string make_summary(const ScenarioSpec& spec, const MetricsFrame& first,
                         const MetricsFrame& last, const std::vector<RuleFiring>& firings) {
  std::string text = fmt::format("{}: {} -> {} ({} steps)\n", spec.name,
                                 step_label(spec.time, first.step), step_label(spec.time, last.step),
                                 last.step - first.step);
  const std::vector<CountryId> focus = focus_countries(spec);
  text += fmt::format("  {:<6} {:>21} {:>21} {:>25}\n", "", "sovereignty",
                      "shortage (weighted)", "talent");
  for (const CountryId country : focus) {
    text += fmt::format(
        "  {:<6} {:>9.3f} -> {:<9.3f} {:>9.3f} -> {:<9.3f} {:>11.0f} -> {:<11.0f}\n",
        spec.countries[static_cast<std::size_t>(country)].id,
        first.value(Metric::Sovereignty, country, -1, -1),
        last.value(Metric::Sovereignty, country, -1, -1),
        weighted_mean(spec, first, Metric::Shortage, country),
        weighted_mean(spec, last, Metric::Shortage, country),
        first.value(Metric::Talent, country, -1, -1), last.value(Metric::Talent, country, -1, -1));
  }
  const CountryId lead = focus.front();
  const std::string& lead_id = spec.countries[static_cast<std::size_t>(lead)].id;
  text += fmt::format("  {} by sector: {:>16} {:>16}   {}\n", lead_id, "domestic share",
                      "shortage", "largest foreign origin at the end");
  for (SectorId sector = 0; sector < spec.sector_count(); ++sector) {
    CountryId top = -1;
    double top_share = 0.0;
    for (CountryId origin = 0; origin < spec.country_count(); ++origin) {
      const double share = last.value(Metric::SupplierShare, lead, sector, origin);
      if (origin != lead && share > top_share) {
        top = origin;
        top_share = share;
      }
    }
    text += fmt::format(
        "    {:<24} {:>6.3f} -> {:<6.3f} {:>6.3f} -> {:<6.3f}   {}\n",
        spec.sectors[static_cast<std::size_t>(sector)].id,
        first.value(Metric::DomesticShare, lead, sector, -1),
        last.value(Metric::DomesticShare, lead, sector, -1),
        first.value(Metric::Shortage, lead, sector, -1),
        last.value(Metric::Shortage, lead, sector, -1),
        top < 0 ? std::string("none")
                : fmt::format("{} {:.3f}", spec.countries[static_cast<std::size_t>(top)].id,
                              top_share));
  }
  if (!firings.empty()) {
    text += fmt::format("  rules fired: {}\n", firings.size());
  }
  return text;
}

struct ObservationRow {
  const ObservationSpec* observation;
  double model_value = std::nan("");
};

std::string observations_csv(const ScenarioSpec& spec, const std::vector<ObservationRow>& rows) {
  std::string csv =
      "fact,metric,country,sector,partner,segment,date,step,observed,model,residual,tolerance,"
      "within_tolerance\n";
  for (const ObservationRow& row : rows) {
    const ObservationSpec& obs = *row.observation;
    detail::append_observation_key(csv, spec, obs);
    csv += ',';
    append_csv_number(csv, obs.value);
    csv += ',';
    append_csv_number(csv, row.model_value);
    csv += ',';
    append_csv_number(csv, row.model_value - obs.value);
    csv += ',';
    append_csv_number(csv, obs.tolerance);
    csv += ',';
    if (!std::isnan(row.model_value)) {
      csv += std::abs(row.model_value - obs.value) <= obs.tolerance ? "1" : "0";
    }
    csv += '\n';
  }
  return csv;
}

std::string events_csv(const ScenarioSpec& spec, const std::vector<RuleFiring>& firings) {
  std::string csv = "step,date,rule,condition_value,event\n";
  for (const RuleFiring& firing : firings) {
    csv += fmt::format("{},{},", firing.step, step_label(spec.time, firing.step));
    append_csv_field(csv, firing.rule_id);
    csv += ',';
    append_csv_number(csv, firing.condition_value);
    csv += ',';
    append_csv_field(csv, firing.event_id);
    csv += '\n';
  }
  return csv;
}

}  // namespace

namespace {

RunRecord simulate_recorded(Simulation& simulation, TimeseriesWriter& writer,
                            const std::atomic<bool>* interrupt,
                            const std::function<void(int, int)>& on_step) {
  const Clock::time_point simulate_start = Clock::now();
  const ScenarioSpec& spec = simulation.spec();
  std::vector<ObservationRow> observations;
  for (const ObservationSpec& obs : spec.observations) observations.push_back({&obs});

  // The steps whose metrics this run reads, the schedule the simulation computes frames on:
  // other steps' frames are never computed.
  const std::vector<unsigned char> wanted_steps = recorded_or_observed_steps(spec);
  const auto wanted = [&](int step) {
    return static_cast<std::size_t>(step) < wanted_steps.size() &&
           wanted_steps[static_cast<std::size_t>(step)] != 0;
  };

  const auto note_step = [&](const MetricsFrame& frame) {
    const int step = frame.step;
    if (step % spec.outputs.every == 0 || step == spec.time.steps) writer.record(frame);
    for (ObservationRow& row : observations) {
      if (row.observation->step == step) row.model_value = detail::observation_value(frame, spec, *row.observation);
    }
  };

  note_step(simulation.metrics());
  const MetricsFrame first = without_flows(simulation.metrics());
  RunRecord record;
  while (!simulation.finished()) {
    if (interrupt != nullptr && interrupt->load()) {
      record.status = RunStatus::Interrupted;
      break;
    }
    simulation.step();
    if (wanted(simulation.step_index())) note_step(simulation.metrics());
    if (on_step) on_step(simulation.step_index(), spec.time.steps);
  }
  // An interrupted run still ends its series on the last step it reached.
  if (record.status == RunStatus::Interrupted && simulation.step_index() % spec.outputs.every != 0) {
    writer.record(simulation.metrics());
  }
  record.simulate_seconds = seconds_since(simulate_start);
  record.steps_done = simulation.step_index();
  record.run_seed = simulation.run_seed();
  record.observations_csv = observations_csv(spec, observations);
  record.events_csv = events_csv(spec, simulation.rule_firings());
  record.summary = make_summary(spec, first, simulation.metrics(), simulation.rule_firings());
  record.observation_rows = observations.size();
  record.event_rows = simulation.rule_firings().size();
  return record;
}

// Everything but the data of a run folder's manifest and small files.
struct FolderFacts {
  const ScenarioSpec& spec;
  const RunRecord& record;
  const std::string& scenario_path;
  const std::vector<Override>& overrides;
  const std::vector<std::string>& argv;
  const LoadedScenario& loaded;  ///< input files and warnings
  int threads = 1;
  std::string started_utc;
  double load_seconds = 0.0;
  std::string resolved_sha256;
  std::optional<std::size_t> long_rows;  ///< timeseries.csv is in the folder
  std::optional<std::size_t> wide_rows;  ///< wide.csv is in the folder
  std::string long_sha256;  ///< hashed as it was written; empty: read it back
  std::string wide_sha256;
  Clock::time_point write_start;
};

// Writes observations, events, summary and the manifest (last) into the staged folder.
void write_folder_files(RunFolder& folder, const FolderFacts& facts) {
  const ScenarioSpec& spec = facts.spec;
  const RunRecord& record = facts.record;
  write_file_atomically(folder.staged("observations.csv"), record.observations_csv);
  write_file_atomically(folder.staged("events.csv"), record.events_csv);
  write_file_atomically(folder.staged("summary.txt"), record.summary);

  Json outputs = Json::array();
  const auto add_output = [&](const std::string& name, std::optional<std::size_t> rows,
                              const std::string& known_sha256 = {}) {
    Json entry = {{"file", name},
                  {"sha256", known_sha256.empty() ? sha256_file_hex(folder.staged(name))
                                                  : known_sha256}};
    if (rows) entry["rows"] = *rows;
    outputs.push_back(entry);
  };
  add_output("scenario.resolved.yaml", std::nullopt);
  if (facts.long_rows) add_output("timeseries.csv", *facts.long_rows, facts.long_sha256);
  if (facts.wide_rows) add_output("wide.csv", *facts.wide_rows, facts.wide_sha256);
  add_output("observations.csv", record.observation_rows);
  add_output("events.csv", record.event_rows);
  add_output("summary.txt", std::nullopt);

  Json warnings = Json::array();
  for (const std::string& warning : facts.loaded.warnings) warnings.push_back(warning);

  Json manifest = detail::build_provenance();
  manifest.update(Json{
      {"threads", facts.threads},
      {"started_utc", facts.started_utc},
      {"finished_utc", utc_now()},
      {"argv", facts.argv},
      {"overrides", detail::override_texts(facts.overrides)},
      {"scenario", {{"name", spec.name}, {"file", facts.scenario_path}}},
      {"inputs", detail::input_digests(facts.loaded.input_files)},
      {"resolved_scenario_sha256", facts.resolved_sha256},
      {"mode", spec.mode == Mode::Agents ? "agents" : "aggregate"},
      {"base_seed", spec.seed},
      {"seed_rule",
       spec.mode == Mode::Agents
           ? "run seed = run_seed(base_seed, replicate); every population draws from "
             "Philox4x32-10 streams keyed by (run seed, population, country, sector)"
           : "aggregate mode draws no random numbers; the seed is recorded for replay"},
      {"runs", Json::array({{{"point", 0},
                             {"replicate", 0},
                             {"seed", record.run_seed},
                             {"status", status_name(record.status)},
                             {"steps_done", record.steps_done}}})},
      {"timings_s",
       {{"load", facts.load_seconds},
        {"simulate", record.simulate_seconds},
        {"write", seconds_since(facts.write_start)}}},
      {"outputs", outputs},
      {"warnings", warnings},
      {"status", status_name(record.status)},
      {"exit_code", record.status == RunStatus::Completed ? 0 : 130},
  });
  write_file_atomically(folder.staged("manifest.json"), manifest.dump(2) + "\n");
}

std::string write_resolved(RunFolder& folder, const LoadedScenario& loaded) {
  const std::string resolved = loaded.resolved_yaml(folder.final_dir().string());
  write_file_atomically(folder.staged("scenario.resolved.yaml"), resolved);
  return sha256_hex(resolved);
}

}  // namespace

RunOutcome run_scenario(const RunRequest& request) {
  const Clock::time_point started = Clock::now();
  const std::string started_utc = utc_now();

  LoadOptions load_options;
  load_options.overrides = request.overrides;
  // Refused from the sizes before the loader builds its dense tables (gigabytes for a 30 KB file
  // declaring the largest world).
  load_options.before_build = [&](std::uint64_t countries, std::uint64_t sectors) {
    check_memory_before_loading(request.scenario_path, countries, sectors,
                                available_memory_bytes());
  };
  LoadedScenario loaded = load_scenario(request.scenario_path, load_options);
  if (request.seed) loaded.spec.seed = *request.seed;
  if (const int points = loaded.spec.sweep.point_count(); points > 1) {
    // Said on the terminal and in the manifest: a user who meant the grid would otherwise get
    // one point and no sign that the others were skipped.
    loaded.warnings.push_back(fmt::format(
        "{}: note: the scenario's sweep of {} points is not run by `techdep run`, which runs the "
        "scenario as written; `techdep sweep {}` runs every point",
        request.scenario_path, points, request.scenario_path));
  }
  if (const int replicates = request.replicates.value_or(loaded.spec.replicates);
      replicates > 1 || !loaded.spec.uncertain.empty()) {
    return run_replicates(request, replicates);
  }
  const double load_seconds = seconds_since(started);

  const fs::path run_dir =
      request.out_dir ? *request.out_dir : default_run_dir("runs", loaded.spec.name);
  // Refuse before anything is allocated or written (docs/reliability.md, "Limits").
  check_resources(loaded.spec,
                  estimate_resources(loaded.spec, selected_series(loaded.spec).size()),
                  available_memory_bytes(), run_dir.parent_path());
  RunFolder folder(run_dir, !request.out_dir.has_value());

  const std::string resolved_sha256 = write_resolved(folder, loaded);
  // The merged document was kept for the resolved copy alone; a large world's tables in it would
  // otherwise stay in memory for the whole run.
  loaded.impl.reset();

  SimulationOptions sim_options;
  sim_options.check_invariants = request.check_invariants;
  sim_options.threads = request.threads;
  sim_options.frames = FrameSchedule::RecordedSteps;
  sim_options.metrics = MetricScope::Scenario;
  // The simulation takes the scenario over, so a large world's tables are not held twice; the
  // run reads it from there.
  Simulation simulation(std::move(loaded.spec), sim_options);
  const ScenarioSpec& spec = simulation.spec();

  TimeseriesFiles files;
  if (request.format != OutputFormat::Wide) files.long_csv = folder.staged("timeseries.csv");
  if (request.format != OutputFormat::Long) files.wide_csv = folder.staged("wide.csv");
  // The rows are formatted, written and hashed beside the simulation when the run may use more
  // than one thread: on W2 that is a fifth of the run's time taken off the simulation's path.
  files.in_background = request.threads > 1;
  TimeseriesWriter writer(spec, files);

  const RunRecord record = simulate_recorded(simulation, writer, request.interrupt, {});

  const Clock::time_point write_start = Clock::now();
  writer.commit();
  write_folder_files(
      folder,
      FolderFacts{.spec = spec,
                  .record = record,
                  .scenario_path = request.scenario_path,
                  .overrides = request.overrides,
                  .argv = request.argv,
                  .loaded = loaded,
                  .threads = request.threads,
                  .started_utc = started_utc,
                  .load_seconds = load_seconds,
                  .resolved_sha256 = resolved_sha256,
                  .long_rows = files.long_csv ? std::optional(writer.long_rows()) : std::nullopt,
                  .wide_rows = files.wide_csv ? std::optional(writer.wide_rows()) : std::nullopt,
                  .long_sha256 = writer.long_sha256(),
                  .wide_sha256 = writer.wide_sha256(),
                  .write_start = write_start});
  folder.commit();

  RunOutcome outcome;
  outcome.run_dir = folder.final_dir();
  outcome.status = record.status;
  outcome.summary = record.summary;
  outcome.timeseries_rows = writer.long_rows();
  outcome.steps_done = record.steps_done;
  return outcome;
}

MemoryRun run_in_memory(const RunRequest& request, const std::function<void(int, int)>& on_step) {
  const Clock::time_point started = Clock::now();
  MemoryRun run;
  run.started_utc = utc_now();
  run.scenario_path = request.scenario_path;
  run.overrides = request.overrides;
  run.threads = request.threads;

  LoadOptions load_options;
  load_options.overrides = request.overrides;
  run.loaded = load_scenario(request.scenario_path, load_options);
  ScenarioSpec& loaded_spec = run.loaded.spec;
  if (request.seed) loaded_spec.seed = *request.seed;
  if (request.replicates.value_or(loaded_spec.replicates) > 1 || !loaded_spec.uncertain.empty()) {
    throw UsageError(fmt::format(
        "{}: the scenario asks for several runs (replicates or uncertain parameters); run them "
        "as an ensemble (techdep.replicates)",
        request.scenario_path));
  }
  run.load_seconds = seconds_since(started);

  // The output is held in memory, not written: its size counts against memory, not disk.
  ResourceEstimate estimate = estimate_resources(loaded_spec, selected_series(loaded_spec).size());
  estimate.memory_bytes += estimate.output_bytes;
  estimate.output_bytes = 0;
  check_resources(loaded_spec, estimate, available_memory_bytes(), {});

  SimulationOptions sim_options;
  sim_options.check_invariants = request.check_invariants;
  sim_options.threads = request.threads;
  sim_options.frames = FrameSchedule::RecordedSteps;
  sim_options.metrics = MetricScope::Scenario;
  Simulation simulation(loaded_spec, sim_options);
  TimeseriesFiles files;
  files.long_text = &run.timeseries_csv;
  TimeseriesWriter writer(simulation.spec(), files);

  run.record = simulate_recorded(simulation, writer, request.interrupt, on_step);
  writer.commit();
  run.timeseries_rows = writer.long_rows();
  return run;
}

void write_run_folder(const MemoryRun& run, const fs::path& out_dir,
                      const std::vector<std::string>& argv) {
  const Clock::time_point write_start = Clock::now();
  RunFolder folder(out_dir);
  const std::string resolved_sha256 = write_resolved(folder, run.loaded);
  write_file_atomically(folder.staged("timeseries.csv"), run.timeseries_csv);

  write_folder_files(folder, FolderFacts{.spec = run.loaded.spec,
                                         .record = run.record,
                                         .scenario_path = run.scenario_path,
                                         .overrides = run.overrides,
                                         .argv = argv,
                                         .loaded = run.loaded,
                                         .threads = run.threads,
                                         .started_utc = run.started_utc,
                                         .load_seconds = run.load_seconds,
                                         .resolved_sha256 = resolved_sha256,
                                         .long_rows = run.timeseries_rows,
                                         .wide_rows = std::nullopt,
                                         .long_sha256 = sha256_hex(run.timeseries_csv),
                                         .wide_sha256 = {},
                                         .write_start = write_start});
  folder.commit();
}

}  // namespace techdep
