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
      "fact,metric,country,sector,partner,date,step,observed,model,residual,tolerance,"
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

  std::string resolved_sha256;
  {
    const std::string resolved = loaded.resolved_yaml(run_dir.string());
    write_file_atomically(folder.staged("scenario.resolved.yaml"), resolved);
    resolved_sha256 = sha256_hex(resolved);
  }
  // The merged document was kept for the resolved copy alone; a large world's tables in it would
  // otherwise stay in memory for the whole run.
  loaded.impl.reset();

  const Clock::time_point simulate_start = Clock::now();
  SimulationOptions sim_options;
  sim_options.check_invariants = request.check_invariants;
  sim_options.threads = request.threads;
  sim_options.frames = FrameSchedule::RecordedSteps;
  // The simulation takes the scenario over, so a large world's tables are not held twice; the
  // run reads it from there.
  Simulation simulation(std::move(loaded.spec), sim_options);
  const ScenarioSpec& spec = simulation.spec();

  TimeseriesFiles files;
  if (request.format != OutputFormat::Wide) files.long_csv = folder.staged("timeseries.csv");
  if (request.format != OutputFormat::Long) files.wide_csv = folder.staged("wide.csv");
  TimeseriesWriter writer(spec, files);

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
  RunStatus status = RunStatus::Completed;
  while (!simulation.finished()) {
    if (request.interrupt != nullptr && request.interrupt->load()) {
      status = RunStatus::Interrupted;
      break;
    }
    simulation.step();
    if (wanted(simulation.step_index())) note_step(simulation.metrics());
  }
  // An interrupted run still ends its series on the last step it reached.
  if (status == RunStatus::Interrupted && simulation.step_index() % spec.outputs.every != 0) {
    writer.record(simulation.metrics());
  }
  const double simulate_seconds = seconds_since(simulate_start);

  const Clock::time_point write_start = Clock::now();
  writer.commit();
  write_file_atomically(folder.staged("observations.csv"), observations_csv(spec, observations));
  write_file_atomically(folder.staged("events.csv"), events_csv(spec, simulation.rule_firings()));

  const std::string summary =
      make_summary(spec, first, simulation.metrics(), simulation.rule_firings());
  write_file_atomically(folder.staged("summary.txt"), summary);

  Json outputs = Json::array();
  const auto add_output = [&](const std::string& name, std::optional<std::size_t> rows) {
    Json entry = {{"file", name}, {"sha256", sha256_file_hex(folder.staged(name))}};
    if (rows) entry["rows"] = *rows;
    outputs.push_back(entry);
  };
  add_output("scenario.resolved.yaml", std::nullopt);
  if (files.long_csv) add_output("timeseries.csv", writer.long_rows());
  if (files.wide_csv) add_output("wide.csv", writer.wide_rows());
  add_output("observations.csv", observations.size());
  add_output("events.csv", simulation.rule_firings().size());
  add_output("summary.txt", std::nullopt);

  Json warnings = Json::array();
  for (const std::string& warning : loaded.warnings) warnings.push_back(warning);

  Json manifest = detail::build_provenance();
  manifest.update(Json{
      {"threads", request.threads},
      {"started_utc", started_utc},
      {"finished_utc", utc_now()},
      {"argv", request.argv},
      {"overrides", detail::override_texts(request.overrides)},
      {"scenario", {{"name", spec.name}, {"file", request.scenario_path}}},
      {"inputs", detail::input_digests(loaded.input_files)},
      {"resolved_scenario_sha256", resolved_sha256},
      {"mode", spec.mode == Mode::Agents ? "agents" : "aggregate"},
      {"base_seed", spec.seed},
      {"seed_rule",
       spec.mode == Mode::Agents
           ? "run seed = run_seed(base_seed, replicate); every population draws from "
             "Philox4x32-10 streams keyed by (run seed, population, country, sector)"
           : "aggregate mode draws no random numbers; the seed is recorded for replay"},
      {"runs", Json::array({{{"point", 0},
                             {"replicate", 0},
                             {"seed", simulation.run_seed()},
                             {"status", status_name(status)},
                             {"steps_done", simulation.step_index()}}})},
      {"timings_s",
       {{"load", load_seconds}, {"simulate", simulate_seconds}, {"write", seconds_since(write_start)}}},
      {"outputs", outputs},
      {"warnings", warnings},
      {"status", status_name(status)},
      {"exit_code", status == RunStatus::Completed ? 0 : 130},
  });
  write_file_atomically(folder.staged("manifest.json"), manifest.dump(2) + "\n");
  folder.commit();

  RunOutcome outcome;
  outcome.run_dir = folder.final_dir();
  outcome.status = status;
  outcome.summary = summary;
  outcome.timeseries_rows = writer.long_rows();
  outcome.steps_done = simulation.step_index();
  return outcome;
}

}  // namespace techdep
