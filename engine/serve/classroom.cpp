#include "techdep/serve/classroom.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/web_assets.hpp"
#include "techdep/app/run.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/report/charts.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

struct Bounds {
  double min = 0.0;
  std::optional<double> max;
};

// The catalogue writes ranges as `[0, 1]`, `(0, 1]`, `>= 0`, `> 0`; anything else (`> 0, != 1`)
// has no slider.
std::optional<Bounds> parse_range(std::string_view text) {
  const auto number = [](std::string_view digits) -> std::optional<double> {
    while (!digits.empty() && digits.front() == ' ') digits.remove_prefix(1);
    while (!digits.empty() && digits.back() == ' ') digits.remove_suffix(1);
    double value = 0.0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
  };
  if (text.size() > 3 && (text.front() == '[' || text.front() == '(') &&
      (text.back() == ']' || text.back() == ')')) {
    const std::size_t comma = text.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    const auto low = number(text.substr(1, comma - 1));
    const auto high = number(text.substr(comma + 1, text.size() - comma - 2));
    if (!low || !high) return std::nullopt;
    return Bounds{*low, *high};
  }
  for (const std::string_view prefix : {">=", ">"}) {
    if (text.starts_with(prefix)) {
      if (const auto low = number(text.substr(prefix.size()))) return Bounds{*low, std::nullopt};
    }
  }
  return std::nullopt;
}

std::optional<double> event_field(const EventSpec& event, std::string_view field) {
  static const std::map<std::string_view, double EventSpec::*, std::less<>> kFields{
      {"intensity", &EventSpec::intensity},   {"evasion", &EventSpec::evasion},
      {"level", &EventSpec::level},           {"trade_cost_cut", &EventSpec::trade_cost_cut},
      {"tech_transfer", &EventSpec::tech_transfer}, {"trust", &EventSpec::trust},
      {"domestic_share", &EventSpec::domestic_share}, {"distrust", &EventSpec::distrust},
      {"capacity_hit", &EventSpec::capacity_hit}, {"rate", &EventSpec::rate}};
  const auto found = kFields.find(field);
  if (found == kFields.end()) return std::nullopt;
  return event.*(found->second);
}

std::string_view event_type_suffix(EventType type) {
  switch (type) {
    case EventType::ExportControl: return "(export_control events)";
    case EventType::ImportBan: return "(import_ban events)";
    case EventType::Enforcement: return "(enforcement events)";
    case EventType::Agreement: return "(agreement events)";
    case EventType::Investment: return "(investment events)";
    case EventType::Mandate: return "(mandate events)";
    case EventType::CyberIncident: return "(cyber_incident events)";
    case EventType::EmigrationWave: return "(emigration_wave events)";
    case EventType::ExitRestriction: return "(exit_restriction events)";
    case EventType::SecondarySanctions: return "(secondary_sanctions events)";
    case EventType::Lift:
    case EventType::Set: return "";
  }
  return "";
}

std::optional<Slider> make_slider(const ParamInfo& info, std::string path, double value,
                                  bool monthly) {
  if (info.unit == "per month" && !monthly) return std::nullopt;
  const std::optional<Bounds> bounds = parse_range(info.range);
  if (!bounds) return std::nullopt;
  // Open-ended ranges get a page bound that still leaves room above the scenario's value.
  const double max = bounds->max ? *bounds->max : std::max(1.0, 2.0 * value);
  return Slider{std::move(path), info.unit, info.meaning, bounds->min, max, value};
}

std::string random_session_id() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", device(), device(), device(), device());
}

HttpReply error_reply(int status, std::string message) {
  return {status, "application/json", Json{{"error", std::move(message)}}.dump(), {}};
}

HttpReply json_reply(const Json& body, int status = 200) {
  return {status, "application/json", body.dump(), {}};
}

Json finite_or_null(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

// One pickable scenario: its file, the validated spec, its sliders and charts, and the baseline
// (its own run) that the page draws in grey.
struct ScenarioEntry {
  std::string file;
  ScenarioSpec spec;
  std::vector<Slider> sliders;
  std::vector<ChartPlan> charts;
  Json page;  ///< what GET /api/scenarios/<name> returns
};

double line_value(const ChartLine& line, const MetricsFrame& frame) {
  double sum = 0.0;
  for (const SeriesKey& key : line.keys) {
    sum += frame.value(key.metric, key.country, key.sector, key.partner);
  }
  return sum;
}

Json chart_point(const std::vector<ChartPlan>& charts, const MetricsFrame& frame) {
  Json values = Json::array();
  for (const ChartPlan& chart : charts) {
    Json lines = Json::array();
    for (const ChartLine& line : chart.lines) lines.push_back(finite_or_null(line_value(line, frame)));
    values.push_back(std::move(lines));
  }
  return {{"step", frame.step}, {"values", std::move(values)}};
}

ScenarioEntry load_entry(const std::string& file) {
  ScenarioEntry entry;
  entry.file = file;
  entry.spec = load_scenario(file).spec;
  if (entry.spec.mode == Mode::Agents) {
    throw UsageError(fmt::format("{}: the classroom runs aggregate scenarios only", file));
  }
  const ScenarioSpec& spec = entry.spec;
  entry.sliders = scenario_sliders(spec);

  // The baseline run, kept per step for every chart line.
  Simulation baseline(spec);
  std::vector<std::vector<std::vector<double>>> lines;  // [step][chart][line]
  std::vector<ChartPlan> charts = plan_charts(spec, focus_countries(spec));
  const auto record = [&](const MetricsFrame& frame) {
    std::vector<std::vector<double>>& row = lines.emplace_back();
    for (const ChartPlan& chart : charts) {
      std::vector<double>& values = row.emplace_back();
      for (const ChartLine& line : chart.lines) values.push_back(line_value(line, frame));
    }
  };
  record(baseline.metrics());
  while (!baseline.finished()) {
    baseline.step();
    record(baseline.metrics());
  }
  // Flat lines are dropped by what the baseline does; find each line's baseline by its position.
  Json charts_json = Json::array();
  for (std::size_t c = 0; c < charts.size(); ++c) {
    ChartPlan kept = charts[c];
    kept.lines.clear();
    Json lines_json = Json::array();
    for (std::size_t l = 0; l < charts[c].lines.size(); ++l) {
      Json values = Json::array();
      bool moves = false;
      for (const auto& step : lines) {
        values.push_back(finite_or_null(step[c][l]));
        moves = moves || (std::isfinite(step[c][l]) && step[c][l] != 0.0);
      }
      if (!moves) continue;
      kept.lines.push_back(charts[c].lines[l]);
      lines_json.push_back({{"label", charts[c].lines[l].label}, {"baseline", std::move(values)}});
    }
    if (kept.lines.empty()) continue;
    charts_json.push_back({{"id", kept.id},
                           {"title", kept.title},
                           {"unit", kept.unit},
                           {"country", spec.countries[static_cast<std::size_t>(kept.country)].id},
                           {"sector", kept.sector < 0
                                          ? std::string()
                                          : spec.sectors[static_cast<std::size_t>(kept.sector)].id},
                           {"lines", std::move(lines_json)}});
    entry.charts.push_back(std::move(kept));
  }

  Json steps = Json::array(), dates = Json::array(), events = Json::array(), sliders = Json::array();
  for (int step = 0; step <= spec.time.steps; ++step) {
    steps.push_back(step);
    dates.push_back(step_label(spec.time, step));
  }
  for (const EventSpec& event : spec.events) {
    events.push_back({{"id", event.id}, {"step", event.at_step}, {"kind", "event"}});
  }
  for (const Slider& slider : entry.sliders) {
    sliders.push_back({{"path", slider.path}, {"unit", slider.unit}, {"meaning", slider.meaning},
                       {"min", slider.min}, {"max", slider.max}, {"value", slider.value}});
  }
  entry.page = {{"name", spec.name}, {"description", spec.description}, {"steps", steps},
                {"dates", dates},    {"events", events},                {"sliders", sliders},
                {"charts", charts_json}};
  return entry;
}

// A student's run: the settings that made it and the simulation, stepped on request.
struct Session {
  std::mutex mutex;
  const ScenarioEntry* scenario = nullptr;
  std::vector<Override> overrides;
  LoadedScenario loaded;
  std::unique_ptr<Simulation> simulation;
  std::uint64_t last_used = 0;
};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

}  // namespace

std::vector<Slider> scenario_sliders(const ScenarioSpec& spec) {
  const bool monthly = spec.time.months_per_step == 1;
  std::vector<Slider> sliders;
  for (const EventSpec& event : spec.events) {
    const std::string_view suffix = event_type_suffix(event.type);
    if (suffix.empty()) continue;
    for (const ParamInfo& info : parameter_catalogue()) {
      constexpr std::string_view kPrefix = "events[<id>].";
      if (!info.path.starts_with(kPrefix) || !info.meaning.ends_with(suffix)) continue;
      const std::string field = info.path.substr(kPrefix.size());
      const std::optional<double> value = event_field(event, field);
      if (!value) continue;
      if (auto slider = make_slider(info, fmt::format("events[{}].{}", event.id, field), *value,
                                    monthly)) {
        sliders.push_back(std::move(*slider));
      }
    }
  }
  for (const ParamInfo& info : parameter_catalogue()) {
    if (info.path == "sectors.<sector>.adjustment") {
      for (const SectorSpec& sector : spec.sectors) {
        if (auto slider = make_slider(info, fmt::format("sectors.{}.adjustment", sector.id),
                                      sector.adjustment, monthly)) {
          sliders.push_back(std::move(*slider));
        }
      }
    } else if (info.path == "reroute_markup") {
      if (auto slider = make_slider(info, "reroute_markup", spec.reroute_markup, monthly)) {
        sliders.push_back(std::move(*slider));
      }
    }
  }
  return sliders;
}

struct Classroom::Impl {
  ClassroomOptions options;
  std::vector<ScenarioEntry> scenarios;
  mutable std::mutex sessions_mutex;
  std::map<std::string, std::shared_ptr<Session>> sessions;
  std::uint64_t clock = 0;

  const ScenarioEntry* find_scenario(std::string_view name) const {
    for (const ScenarioEntry& entry : scenarios) {
      if (entry.spec.name == name) return &entry;
    }
    return nullptr;
  }

  std::shared_ptr<Session> find_session(std::string_view id) {
    const std::lock_guard lock(sessions_mutex);
    const auto found = sessions.find(std::string(id));
    if (found == sessions.end()) return nullptr;
    found->second->last_used = ++clock;
    return found->second;
  }

  void add_session(const std::string& id, std::shared_ptr<Session> session) {
    const std::lock_guard lock(sessions_mutex);
    // Bounded memory: the least recently used session makes room for the new one.
    while (sessions.size() >= options.max_sessions) {
      const auto oldest = std::min_element(
          sessions.begin(), sessions.end(),
          [](const auto& left, const auto& right) {
            return left.second->last_used < right.second->last_used;
          });
      sessions.erase(oldest);
    }
    session->last_used = ++clock;
    sessions.emplace(id, std::move(session));
  }

  HttpReply page() const {
    Json names = Json::array();
    for (const ScenarioEntry& entry : scenarios) names.push_back(entry.spec.name);
    return {200, "text/html; charset=utf-8",
            assemble_page("serve.html", json_for_script(Json{{"scenarios", names}}.dump())), {}};
  }

  HttpReply scenario_list() const {
    Json list = Json::array();
    for (const ScenarioEntry& entry : scenarios) {
      list.push_back({{"name", entry.spec.name}, {"description", entry.spec.description}});
    }
    return json_reply(list);
  }

  // POST /api/sessions {"scenario": NAME, "settings": {PATH: NUMBER, ...}}
  HttpReply create_session(std::string_view body) {
    const Json request = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
      return error_reply(400, "request body: not a JSON object");
    }
    for (const auto& [key, value] : request.items()) {
      if (key != "scenario" && key != "settings") {
        return error_reply(400, fmt::format("request body: unknown key '{}' (expected scenario, "
                                            "settings)", key));
      }
    }
    const auto scenario_name = request.find("scenario");
    if (scenario_name == request.end() || !scenario_name->is_string()) {
      return error_reply(400, "request body: 'scenario' must be a scenario name");
    }
    const ScenarioEntry* scenario = find_scenario(scenario_name->get<std::string>());
    if (scenario == nullptr) {
      return error_reply(400, fmt::format("unknown scenario '{}'", scenario_name->get<std::string>()));
    }
    std::vector<Override> overrides;
    if (const auto settings = request.find("settings"); settings != request.end()) {
      if (!settings->is_object()) return error_reply(400, "request body: 'settings' must be an object");
      for (const auto& [path, value] : settings->items()) {
        const bool known = std::any_of(scenario->sliders.begin(), scenario->sliders.end(),
                                       [&](const Slider& slider) { return slider.path == path; });
        if (!known) {
          return error_reply(400, fmt::format("settings: '{}' is not a parameter of {}'s sliders",
                                              path, scenario->spec.name));
        }
        if (!value.is_number() || !std::isfinite(value.get<double>())) {
          return error_reply(400, fmt::format("settings: '{}' must be a finite number", path));
        }
        overrides.push_back({fmt::format("{}={}", path, value.get<double>())});
      }
    }
    auto session = std::make_shared<Session>();
    session->scenario = scenario;
    session->overrides = overrides;
    try {
      LoadOptions load_options;
      load_options.overrides = overrides;
      session->loaded = load_scenario(scenario->file, load_options);
    } catch (const ScenarioError& error) {
      // The loader's own message: the setting, the rule it breaks and the allowed range.
      return error_reply(400, error.what());
    }
    session->simulation = std::make_unique<Simulation>(session->loaded.spec);
    const std::string id = random_session_id();
    Json first = chart_point(scenario->charts, session->simulation->metrics());
    add_session(id, session);
    return json_reply({{"session", id}, {"scenario", scenario->spec.name}, {"step", 0},
                       {"steps", scenario->spec.time.steps}, {"points", Json::array({first})}},
                      201);
  }

  // POST /api/sessions/ID/step {"steps": N}: advances and returns the new points.
  HttpReply step_session(Session& session, std::string_view body) {
    int steps = 1;
    if (!body.empty()) {
      const Json request = Json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (request.is_discarded() || !request.is_object()) {
        return error_reply(400, "request body: not a JSON object");
      }
      if (const auto found = request.find("steps"); found != request.end()) {
        if (!found->is_number_integer() || found->get<long long>() < 1 ||
            found->get<long long>() > session.loaded.spec.time.steps) {
          return error_reply(400, fmt::format("'steps' must be an integer in 1..{}",
                                              session.loaded.spec.time.steps));
        }
        steps = found->get<int>();
      }
    }
    Json points = Json::array();
    Simulation& simulation = *session.simulation;
    for (int done = 0; done < steps && !simulation.finished(); ++done) {
      simulation.step();
      points.push_back(chart_point(session.scenario->charts, simulation.metrics()));
    }
    return json_reply({{"step", simulation.step_index()},
                       {"finished", simulation.finished()},
                       {"points", std::move(points)}});
  }

  HttpReply reset_session(Session& session) {
    session.simulation = std::make_unique<Simulation>(session.loaded.spec);
    return json_reply({{"step", 0},
                       {"finished", false},
                       {"points", Json::array({chart_point(session.scenario->charts,
                                                           session.simulation->metrics())})}});
  }

  // The long CSV of docs/output-format.md up to the current step, from a replay of the session's
  // scenario (same settings, same numbers), so a session keeps no history in memory.
  HttpReply session_csv(Session& session) {
    const ScenarioSpec& spec = session.loaded.spec;
    const std::vector<SeriesKey> series = selected_series(spec);
    std::string csv = "scenario,point,replicate,step,date,country,sector,partner,metric,value\n";
    Simulation replay(spec);
    const auto write = [&](const MetricsFrame& frame) {
      const std::string date = step_label(spec.time, frame.step);
      for (const SeriesKey& key : series) {
        append_csv_field(csv, spec.name);
        csv += fmt::format(",0,0,{},{},", frame.step, date);
        const std::string name = series_name(spec, key);
        // series_name is metric.COUNTRY[.sector][.partner]; the CSV wants the parts as columns.
        csv += spec.countries[static_cast<std::size_t>(key.country)].id;
        csv += ',';
        if (key.sector >= 0) csv += spec.sectors[static_cast<std::size_t>(key.sector)].id;
        csv += ',';
        if (key.partner >= 0) csv += name.substr(name.rfind('.') + 1);
        csv += fmt::format(",{},", metric_info(key.metric).name);
        append_csv_number(csv, frame.value(key.metric, key.country, key.sector, key.partner));
        csv += '\n';
      }
    };
    write(replay.metrics());
    while (replay.step_index() < session.simulation->step_index()) {
      replay.step();
      write(replay.metrics());
    }
    return {200, "text/csv; charset=utf-8", std::move(csv),
            fmt::format("{}-step{}.csv", spec.name, session.simulation->step_index())};
  }

  HttpReply session_yaml(Session& session) {
    const std::string directory = fs::path(session.scenario->file).parent_path().string();
    std::string yaml = fmt::format(
        "# Made by techdep serve from {} with the settings below; paths are relative to {},\n"
        "# so save this file there and run: techdep run <this file>\n",
        fs::path(session.scenario->file).filename().string(), directory.empty() ? "." : directory);
    for (const Override& item : session.overrides) yaml += fmt::format("#   --set {}\n", item.text);
    yaml += session.loaded.resolved_yaml(directory);
    return {200, "application/yaml; charset=utf-8", std::move(yaml),
            fmt::format("{}-classroom.yaml", session.loaded.spec.name)};
  }

  HttpReply route(std::string_view method, std::string_view path, std::string_view body) {
    if (const std::size_t query = path.find('?'); query != std::string_view::npos) {
      path = path.substr(0, query);
    }
    const std::vector<std::string_view> parts = split_path(path);
    const bool get = method == "GET";
    const bool post = method == "POST";
    if (parts.empty()) return get ? page() : error_reply(405, "use GET for the page");
    if (parts[0] != "api") return error_reply(404, fmt::format("no page '{}'", path));
    if (parts.size() == 2 && parts[1] == "scenarios") {
      return get ? scenario_list() : error_reply(405, "use GET");
    }
    if (parts.size() == 3 && parts[1] == "scenarios") {
      const ScenarioEntry* scenario = find_scenario(parts[2]);
      if (scenario == nullptr) return error_reply(404, fmt::format("unknown scenario '{}'", parts[2]));
      return get ? json_reply(scenario->page) : error_reply(405, "use GET");
    }
    if (parts.size() == 2 && parts[1] == "sessions") {
      return post ? create_session(body) : error_reply(405, "use POST to start a session");
    }
    if (parts.size() == 4 && parts[1] == "sessions") {
      const std::shared_ptr<Session> session = find_session(parts[2]);
      if (!session) {
        return error_reply(404, "no such session (it may have expired: press Setup again)");
      }
      const std::lock_guard lock(session->mutex);
      const std::string_view action = parts[3];
      if (action == "step") return post ? step_session(*session, body) : error_reply(405, "use POST");
      if (action == "reset") return post ? reset_session(*session) : error_reply(405, "use POST");
      if (action == "timeseries.csv") return get ? session_csv(*session) : error_reply(405, "use GET");
      if (action == "scenario.yaml") return get ? session_yaml(*session) : error_reply(405, "use GET");
    }
    return error_reply(404, fmt::format("no endpoint '{}'", path));
  }
};

Classroom::Classroom(ClassroomOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.scenario_files.empty()) {
    throw UsageError("serve: no scenario to offer (give a scenario file or --scenario-dir)");
  }
  if (impl_->options.max_sessions == 0) impl_->options.max_sessions = 1;
  for (const std::string& file : impl_->options.scenario_files) {
    ScenarioEntry entry = load_entry(file);
    if (impl_->find_scenario(entry.spec.name) != nullptr) {
      throw UsageError(fmt::format("serve: two scenarios are named '{}'", entry.spec.name));
    }
    impl_->scenarios.push_back(std::move(entry));
  }
}

Classroom::~Classroom() = default;

HttpReply Classroom::handle(std::string_view method, std::string_view path, std::string_view body) {
  if (body.size() > impl_->options.max_body_bytes) {
    return error_reply(413, fmt::format("request body of {} bytes is over the limit of {}",
                                        body.size(), impl_->options.max_body_bytes));
  }
  try {
    return impl_->route(method, path, body);
  } catch (const ScenarioError& error) {
    return error_reply(400, error.what());
  } catch (const UsageError& error) {
    return error_reply(400, error.what());
  } catch (const std::exception& error) {
    return error_reply(500, fmt::format("internal error: {}", error.what()));
  }
}

std::size_t Classroom::session_count() const {
  const std::lock_guard lock(impl_->sessions_mutex);
  return impl_->sessions.size();
}

const ClassroomOptions& Classroom::options() const { return impl_->options; }

}  // namespace techdep
