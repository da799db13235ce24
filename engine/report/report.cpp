#include "techdep/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/narrative.hpp"
#include "report/run_reader.hpp"
#include "report/web_assets.hpp"
#include "techdep/app/compare.hpp"
#include "techdep/app/run.hpp"
#include "techdep/core/build_info.hpp"
#include "techdep/core/error.hpp"
#include "techdep/output/run_folder.hpp"

namespace techdep {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// Moves smaller than this (a share) are not worth a sentence.
constexpr double kMoveThreshold = 0.02;
constexpr std::size_t kMovesNarrated = 3;

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::ExportControl: return "export_control";
    case EventType::ImportBan: return "import_ban";
    case EventType::Enforcement: return "enforcement";
    case EventType::Agreement: return "agreement";
    case EventType::Investment: return "investment";
    case EventType::Mandate: return "mandate";
    case EventType::CyberIncident: return "cyber_incident";
    case EventType::EmigrationWave: return "emigration_wave";
    case EventType::ExitRestriction: return "exit_restriction";
    case EventType::Lift: return "lift";
    case EventType::Set: return "set";
    case EventType::SecondarySanctions: return "secondary_sanctions";
    case EventType::ReturnCall: return "return_call";
    case EventType::HostRestriction: return "host_restriction";
    case EventType::RemoteWorkLimit: return "remote_work_limit";
  }
  return "event";
}

Json read_manifest(const fs::path& run_dir) {
  const fs::path file = run_dir / "manifest.json";
  std::ifstream in(file);
  if (!in) throw IoError(fmt::format("{}: cannot read the file", file.string()));
  const Json manifest = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) {
    throw IoError(fmt::format("{}: not a JSON object", file.string()));
  }
  return manifest;
}

std::string text_or(const Json& object, const char* key, std::string_view fallback) {
  const auto found = object.find(key);
  if (found == object.end()) return std::string(fallback);
  return found->is_string() ? found->get<std::string>() : found->dump();
}

Json to_json(const std::vector<double>& values) {
  Json array = Json::array();
  for (const double value : values) {
    if (std::isfinite(value)) {
      array.push_back(without_noise(value));
    } else {
      array.push_back(nullptr);
    }
  }
  return array;
}

// A series of another run aligned on this run's recorded steps (NaN where it has no value).
std::vector<double> aligned(const RecordedRun& other, const std::string& series,
                            const std::vector<int>& steps) {
  std::vector<double> values(steps.size(), std::nan(""));
  for (std::size_t point = 0; point < steps.size(); ++point) {
    if (const auto index = other.point_of_step(steps[point])) {
      values[point] = other.value(series, *index);
    }
  }
  return values;
}

Json events_json(const ScenarioSpec& spec, const RecordedRun& run) {
  Json events = Json::array();
  for (const EventSpec& event : spec.events) {
    events.push_back({{"id", event.id},
                      {"type", event_type_name(event.type)},
                      {"step", event.at_step},
                      {"date", step_label(spec.time, std::max(0, event.at_step))},
                      {"end_step", event.end_step},
                      {"source", event.source},
                      {"kind", "event"}});
  }
  for (const RecordedRun::Firing& firing : run.firings) {
    events.push_back({{"id", firing.event},
                      {"type", "rule"},
                      {"step", firing.step + 1},  // a fired rule's event acts from the next step
                      {"date", step_label(spec.time, firing.step + 1)},
                      {"end_step", -1},
                      {"source", fmt::format("rule {}", firing.rule)},
                      {"kind", "rule"}});
  }
  // The table and the markers read in date order (a file lists events in any order).
  std::vector<Json> sorted(events.begin(), events.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const Json& left, const Json& right) {
    return left["step"].get<int>() < right["step"].get<int>();
  });
  return Json(sorted);
}

struct Attribution {
  std::string label;
  ExplainOutcome outcome;
};

std::optional<ExplainOutcome> attribute(const ReportRequest& request, const ScenarioSpec& spec,
                                        const SeriesKey& key) {
  if (spec.events.empty() || request.attribution_samples <= 0) return std::nullopt;
  ExplainRequest explain;
  explain.scenario = request.run_dir.string();
  explain.metric = metric_info(key.metric).name;
  explain.country = spec.countries[static_cast<std::size_t>(key.country)].id;
  if (key.sector >= 0) explain.sector = spec.sectors[static_cast<std::size_t>(key.sector)].id;
  if (key.partner >= 0) explain.partner = spec.countries[static_cast<std::size_t>(key.partner)].id;
  explain.exact_limit = request.attribution_exact_limit;
  explain.samples = request.attribution_samples;
  explain.threads = request.threads;
  return explain_scenario(explain);
}

Json attribution_json(const Attribution& attribution) {
  Json contributions = Json::array();
  for (const EventContribution& contribution : attribution.outcome.contributions) {
    contributions.push_back({{"event", contribution.event_id},
                             {"shapley", contribution.shapley},
                             {"leave_one_out", contribution.leave_one_out}});
  }
  return {{"label", attribution.label},
          {"unit", metric_info(Metric::Sovereignty).unit},
          {"method", attribution.outcome.method},
          {"with_events", attribution.outcome.with_events},
          {"without_events", attribution.outcome.without_events},
          {"caption", describe_attribution(attribution.label, attribution.outcome)},
          {"contributions", contributions}};
}

}  // namespace

ReportOutcome write_report(const ReportRequest& request) {
  const fs::path& run_dir = request.run_dir;
  if (!fs::is_directory(run_dir) || !fs::is_regular_file(run_dir / "scenario.resolved.yaml")) {
    throw UsageError(fmt::format("{}: not a run folder (no scenario.resolved.yaml)", run_dir.string()));
  }
  const Json manifest = read_manifest(run_dir);
  const LoadedScenario loaded = load_scenario_or_run(run_dir.string(), {});
  const ScenarioSpec& spec = loaded.spec;
  const RecordedRun run = read_recorded_run(run_dir);
  if (run.steps.empty()) {
    throw IoError(fmt::format("{}: timeseries.csv holds no rows", run_dir.string()));
  }
  std::optional<RecordedRun> baseline;
  std::string baseline_name;
  if (request.baseline_dir) {
    baseline = read_recorded_run(*request.baseline_dir);
    baseline_name = text_or(read_manifest(*request.baseline_dir).value("scenario", Json::object()),
                            "name", request.baseline_dir->filename().string());
  }

  const std::size_t points = run.steps.size();
  const SeriesLookup lookup = [&](const SeriesKey& key, std::size_t point) {
    return run.value(series_name(spec, key), point);
  };
  const std::vector<CountryId> focus = focus_countries(spec);
  std::vector<ChartPlan> charts = plan_charts(spec, focus);
  drop_flat_lines(charts, points, lookup);

  ReportOutcome outcome;
  outcome.baseline = baseline.has_value();
  Json charts_json = Json::array();
  for (const ChartPlan& chart : charts) {
    Json lines = Json::array();
    for (const ChartLine& line : chart.lines) {
      Json entry = {{"label", line.label}, {"values", to_json(line_values(line, points, lookup))}};
      // Quantiles do not add up, so only lines of one series get a band.
      if (line.keys.size() == 1) {
        const auto band = run.bands.find(series_name(spec, line.keys.front()));
        if (band != run.bands.end()) {
          outcome.bands = true;
          entry["band"] = {{"low", to_json(band->second.outer_low)},
                           {"high", to_json(band->second.outer_high)}};
          if (!band->second.inner_low.empty()) {
            entry["band"]["inner_low"] = to_json(band->second.inner_low);
            entry["band"]["inner_high"] = to_json(band->second.inner_high);
          }
          entry["centre"] = to_json(band->second.centre);
        }
      }
      if (baseline) {
        std::vector<double> values(points, 0.0);
        for (const SeriesKey& key : line.keys) {
          const std::vector<double> part = aligned(*baseline, series_name(spec, key), run.steps);
          for (std::size_t point = 0; point < points; ++point) values[point] += part[point];
        }
        entry["baseline"] = to_json(values);
      }
      lines.push_back(std::move(entry));
    }
    charts_json.push_back({{"id", chart.id},
                           {"title", chart.title},
                           {"unit", chart.unit},
                           {"country", spec.countries[static_cast<std::size_t>(chart.country)].id},
                           {"sector", chart.sector < 0 ? std::string()
                                                       : spec.sectors[static_cast<std::size_t>(
                                                                          chart.sector)].id},
                           {"lines", std::move(lines)}});
  }
  outcome.charts = charts.size();

  // The narrative: the lead country's largest moves and the events behind each. A run with
  // replicates draws its charts from their mean, but `explain` attributes the scenario as
  // written (no value drawn); the story then tells the scenario as written, simulated again
  // here, so that its numbers and their drivers describe one and the same run.
  const bool replicated = spec.replicates > 1 || !run.bands.empty();
  std::optional<SeriesTable> nominal;
  std::map<std::string, std::size_t> nominal_column;
  if (replicated) {
    nominal = simulate_series(loaded.point_spec(-1), request.threads);
    for (std::size_t column = 0; column < nominal->names.size(); ++column) {
      nominal_column[nominal->names[column]] = column;
    }
  }
  const SeriesLookup story_lookup = [&](const SeriesKey& key, std::size_t point) {
    if (!nominal) return lookup(key, point);
    const auto column = nominal_column.find(series_name(spec, key));
    const auto step = static_cast<std::size_t>(run.steps[point]);
    if (column == nominal_column.end() || step >= nominal->values.size()) return std::nan("");
    return nominal->values[step][column->second];
  };
  const CountryId lead = focus.front();
  const std::string& lead_id = spec.countries[static_cast<std::size_t>(lead)].id;
  const std::vector<Move> moves = largest_moves(
      spec, lead, run.steps,
      [&](const SeriesKey& key) {
        std::vector<double> values(points);
        for (std::size_t point = 0; point < points; ++point) values[point] = story_lookup(key, point);
        return values;
      },
      kMovesNarrated, kMoveThreshold);
  outcome.narrative.push_back(fmt::format(
      "{} runs from {} to {} ({} steps) with {} scheduled events{}. The lead country is {}.",
      spec.name, run.dates.front(), run.dates.back(), run.steps.back() - run.steps.front(),
      spec.events.size(),
      run.firings.empty() ? std::string()
                          : fmt::format(" and {} rule firings", run.firings.size()),
      lead_id));
  if (replicated) {
    outcome.narrative.push_back(fmt::format(
        "This run has {} replicates: the charts show their mean with bands, while this account "
        "and its drivers follow the scenario as written (no uncertain value drawn), the run that "
        "`techdep explain` attributes.",
        spec.replicates));
  }
  if (moves.empty()) {
    outcome.narrative.push_back(fmt::format(
        "No share series of {} moved by more than {} between the first and the last step.", lead_id,
        kMoveThreshold));
  }
  for (const Move& move : moves) {
    const std::optional<ExplainOutcome> drivers =
        run.steps.back() == spec.time.steps ? attribute(request, spec, move.key) : std::nullopt;
    outcome.narrative.push_back(describe_move(spec, move, drivers ? &*drivers : nullptr));
  }

  // The headline: the lead country's sovereignty, attributed event by event (the wedge chart).
  Json attribution_data = nullptr;
  if (const std::optional<ExplainOutcome> headline =
          attribute(request, spec, {Metric::Sovereignty, lead, -1, -1})) {
    const Attribution attribution{
        fmt::format("{} sovereignty at {}", lead_id, step_label(spec.time, spec.time.steps)),
        *headline};
    attribution_data = attribution_json(attribution);
    outcome.narrative.push_back(describe_attribution(attribution.label, attribution.outcome));
  }

  const BuildInfo& build = build_info();
  Json focus_ids = Json::array();
  for (const CountryId country : focus) {
    focus_ids.push_back(spec.countries[static_cast<std::size_t>(country)].id);
  }
  const Json data = {
      {"kind", "report"},
      {"name", spec.name},
      {"description", spec.description},
      {"dates", run.dates},
      {"steps", run.steps},
      {"focus", focus_ids},
      {"events", events_json(spec, run)},
      {"charts", std::move(charts_json)},
      {"narrative", outcome.narrative},
      {"attribution", std::move(attribution_data)},
      {"baseline", baseline ? Json(baseline_name) : Json(nullptr)},
      {"bands", outcome.bands},
      {"provenance",
       {{"version", text_or(manifest, "version", "unknown")},
        {"git_commit", text_or(manifest, "git_commit", "unknown")},
        {"seed", text_or(manifest, "base_seed", "unknown")},
        {"scenario_sha256", text_or(manifest, "resolved_scenario_sha256", "unknown")},
        {"finished_utc", text_or(manifest, "finished_utc", "unknown")},
        {"status", text_or(manifest, "status", "unknown")},
        {"report_by", fmt::format("techdep {} ({})", build.version, build.git_commit)}}},
  };
  const std::string html = assemble_page("report.html", json_for_script(data.dump()));
  outcome.file = request.out_file ? *request.out_file : run_dir / "report.html";
  write_file_atomically(outcome.file, html);
  outcome.bytes = html.size();
  return outcome;
}

}  // namespace techdep
