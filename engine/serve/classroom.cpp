#include "techdep/serve/classroom.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "report/web_assets.hpp"
#include "serve/chart_points.hpp"
#include "serve/rooms.hpp"
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
  bool min_open = false;
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
    return Bounds{*low, *high, text.front() == '('};
  }
  for (const std::string_view prefix : {">=", ">"}) {
    if (text.starts_with(prefix)) {
      if (const auto low = number(text.substr(prefix.size()))) {
        return Bounds{*low, std::nullopt, prefix == ">"};
      }
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
      {"capacity_hit", &EventSpec::capacity_hit}, {"rate", &EventSpec::rate},
      {"return_suppression", &EventSpec::return_suppression}};
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
    case EventType::ReturnCall: return "(return_call events)";
    case EventType::HostRestriction: return "(host_restriction events)";
    case EventType::RemoteWorkLimit: return "(remote_work_limit events)";
    case EventType::Lift:
    case EventType::Set: return "";
  }
  return "";
}

// What a lever does, in the words a student would use (the catalogue's meaning stays as help).
std::string plain_field(EventType type, std::string_view field) {
  if (field == "intensity") {
    if (type == EventType::ExportControl) return "share of exports blocked";
    if (type == EventType::ImportBan) return "share of imports banned";
    if (type == EventType::Investment) return "investment push";
  }
  if (field == "evasion") return "share that can slip through hubs";
  if (field == "level") {
    if (type == EventType::Enforcement) return "enforcement against hubs";
    if (type == EventType::HostRestriction) return "how hard life abroad becomes";
    if (type == EventType::RemoteWorkLimit) return "share of remote workers cut off per month";
    return "how hard leaving is";
  }
  if (field == "rate") {
    return type == EventType::ReturnCall ? "extra share of emigrants called back per month"
                                         : "extra share of specialists leaving per month";
  }
  if (field == "return_suppression") return "share of returns held back";
  if (field == "domestic_share") return "domestic share required";
  if (field == "trade_cost_cut") return "trade costs cut";
  if (field == "tech_transfer") return "technology shared per step";
  if (field == "trust") return "distrust removed";
  if (field == "distrust") return "distrust added";
  if (field == "capacity_hit") return "capacity destroyed";
  return std::string(field);
}

// `export-controls-2022` -> `Export controls 2022`.
std::string plain_id(std::string_view id) {
  std::string text(id);
  std::replace(text.begin(), text.end(), '-', ' ');
  std::replace(text.begin(), text.end(), '_', ' ');
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = static_cast<char>(text[0] - 'a' + 'A');
  return text;
}

std::string country_names(const ScenarioSpec& spec, const std::vector<CountryId>& countries) {
  std::vector<std::string> names;
  for (const CountryId country : countries) {
    const CountrySpec& entry = spec.countries[static_cast<std::size_t>(country)];
    names.push_back(entry.name.empty() ? entry.id : entry.name);
  }
  return fmt::format("{}", fmt::join(names, ", "));
}

// Who pulls an event's levers: the imposers of controls, the hubs that enforce, the country that
// invests, mandates or restricts exit. Emigration waves are people's choices, not a government's.
struct Actor {
  std::string group;
  std::string country;  ///< the first actor's id (a role in the game)
};
Actor event_actor(const ScenarioSpec& spec, const EventSpec& event) {
  const auto id = [&](const std::vector<CountryId>& countries) {
    return countries.empty() ? std::string()
                             : spec.countries[static_cast<std::size_t>(countries.front())].id;
  };
  switch (event.type) {
    case EventType::ExportControl:
    case EventType::Agreement:
      return {fmt::format("{}: controls and agreements", country_names(spec, event.from)), id(event.from)};
    case EventType::Enforcement:
      return {fmt::format("{}: enforcement as a hub", country_names(spec, event.from)), id(event.from)};
    case EventType::SecondarySanctions:
      return {fmt::format("{}: controls and agreements", country_names(spec, event.from)), id(event.from)};
    case EventType::ImportBan:
    case EventType::Investment:
    case EventType::Mandate:
    case EventType::ExitRestriction:
      return {fmt::format("{}: policy", country_names(spec, event.to)), id(event.to)};
    case EventType::CyberIncident:
      return {"Cyber incidents", ""};
    case EventType::EmigrationWave:
      return {"People: emigration", ""};
    case EventType::ReturnCall:
    case EventType::RemoteWorkLimit:
      return {fmt::format("{}: policy", country_names(spec, event.to)), id(event.to)};
    case EventType::HostRestriction:
      return {fmt::format("{}: restrictions as a host", country_names(spec, event.from)),
              id(event.from)};
    case EventType::Lift:
    case EventType::Set: break;
  }
  return {"Other", ""};
}

// A round step that leaves about a hundred positions between the ends.
double round_step(double span) {
  if (!(span > 0.0)) return 0.01;
  const double raw = span / 100.0;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double multiple : {1.0, 2.0, 5.0}) {
    if (raw <= multiple * power) return multiple * power;
  }
  return 10.0 * power;
}

std::optional<Slider> make_slider(const ParamInfo& info, std::string path, double value,
                                  bool monthly) {
  if (info.unit == "per month" && !monthly) return std::nullopt;
  const std::optional<Bounds> bounds = parse_range(info.range);
  if (!bounds) return std::nullopt;
  // Open-ended ranges get a page bound that still leaves room above the scenario's value.
  const double max = bounds->max ? *bounds->max : std::max(1.0, 2.0 * value);
  const double step = round_step(max - bounds->min);
  // An open lower end is not a value the loader accepts: the slider starts one step in.
  const double min = bounds->min_open ? bounds->min + step : bounds->min;
  Slider slider;
  slider.path = std::move(path);
  slider.unit = info.unit;
  slider.meaning = info.meaning;
  slider.min = std::min(min, value);
  slider.max = max;
  slider.value = value;
  slider.step = step;
  return slider;
}

std::string random_session_id() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", device(), device(), device(), device());
}

HttpReply error_reply(int status, std::string message) {
  return {status, "application/json", Json{{"error", std::move(message)}}.dump(), {}, {}, {}};
}

HttpReply json_reply(const Json& body, int status = 200) {
  return {status, "application/json", body.dump(), {}, {}, {}};
}

// One pickable scenario: its file, the validated spec, its sliders and charts, and the baseline
// (its own run) that the page draws in grey.
struct ScenarioEntry {
  std::string file;  ///< for an uploaded scenario, the path it is read as if it were
  std::string text;  ///< an uploaded scenario's YAML (empty: read `file`)
  ScenarioSpec spec;
  std::vector<Slider> sliders;
  std::vector<ChartPlan> charts;
  Json page;  ///< what GET /api/scenarios/<name> returns
};

LoadedScenario load_source(const std::string& file, const std::string& text, const LoadOptions& options = {}) {
  return text.empty() ? load_scenario(file, options) : load_scenario_text(text, file, options);
}

ScenarioEntry load_entry(const std::string& file, const std::string& text = {}) {
  ScenarioEntry entry;
  entry.file = file;
  entry.text = text;
  entry.spec = load_source(file, text).spec;
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
        moves = moves || (std::isfinite(step[c][l]) && without_noise(step[c][l]) != 0.0);
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
    sliders.push_back({{"path", slider.path}, {"label", slider.label}, {"group", slider.group},
                       {"actor", slider.actor}, {"unit", slider.unit}, {"meaning", slider.meaning},
                       {"min", slider.min}, {"max", slider.max}, {"step", slider.step},
                       {"value", slider.value}});
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
  Json settings = Json::object();  ///< as the page sent them, to restore its controls
  std::shared_ptr<const LoadedScenario> loaded;  ///< shared with downloads still streaming
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

namespace {

// The per-sector lock-in levers a class can move, with the value that switches each off.
struct LockInLever {
  double SectorSpec::*field;
  double off;
  std::string_view label;
};
const std::map<std::string, LockInLever, std::less<>> kLockInLevers{
    {"sectors.<sector>.switching_cost",
     {&SectorSpec::switching_cost, 0.0, "cost of switching away from what is installed"}},
    {"sectors.<sector>.network_effect",
     {&SectorSpec::network_effect, 0.0, "pull of the most used system (network effect)"}},
    {"sectors.<sector>.reentry_speed",
     {&SectorSpec::reentry_speed, 1.0, "how fast a vendor that left comes back"}},
};

// The behaviour of each kind of buyer (docs/model.md, Demand segments) a class can move.
struct SegmentLever {
  double SegmentSpec::*field;
  std::string_view label;
};
const std::map<std::string, SegmentLever, std::less<>> kSegmentLevers{
    {"segments.<segment>.elasticity", {&SegmentSpec::elasticity, "how much prices move its purchases"}},
    {"segments.<segment>.security_sensitivity",
     {&SegmentSpec::security_sensitivity, "how much distrust of a supplier weighs"}},
    {"segments.<segment>.adjustment", {&SegmentSpec::adjustment, "how fast it switches suppliers"}},
};

}  // namespace

std::vector<Slider> scenario_sliders(const ScenarioSpec& spec) {
  const bool monthly = spec.time.months_per_step == 1;
  std::vector<Slider> sliders;
  for (const EventSpec& event : spec.events) {
    const std::string_view suffix = event_type_suffix(event.type);
    if (suffix.empty()) continue;
    const Actor actor = event_actor(spec, event);
    for (const ParamInfo& info : parameter_catalogue()) {
      constexpr std::string_view kPrefix = "events[<id>].";
      if (!info.path.starts_with(kPrefix) || !info.meaning.ends_with(suffix)) continue;
      const std::string field = info.path.substr(kPrefix.size());
      const std::optional<double> value = event_field(event, field);
      if (!value) continue;
      if (auto slider = make_slider(info, fmt::format("events[{}].{}", event.id, field), *value,
                                    monthly)) {
        slider->label = fmt::format("{}: {}", plain_id(event.id), plain_field(event.type, field));
        slider->group = actor.group;
        slider->actor = actor.country;
        sliders.push_back(std::move(*slider));
      }
    }
  }
  for (const ParamInfo& info : parameter_catalogue()) {
    if (info.path == "sectors.<sector>.adjustment") {
      for (const SectorSpec& sector : spec.sectors) {
        if (auto slider = make_slider(info, fmt::format("sectors.{}.adjustment", sector.id),
                                      sector.adjustment, monthly)) {
          slider->label = fmt::format("{}: how fast buyers switch suppliers", plain_id(sector.id));
          slider->group = "Markets";
          sliders.push_back(std::move(*slider));
        }
      }
    } else if (const auto lever = kLockInLevers.find(info.path); lever != kLockInLevers.end()) {
      // Only the mechanisms a scenario switches on: a lever that does nothing would mislead.
      for (const SectorSpec& sector : spec.sectors) {
        const double value = sector.*(lever->second.field);
        if (value == lever->second.off) continue;
        const std::string path =
            fmt::format("sectors.{}.{}", sector.id, info.path.substr(info.path.rfind('.') + 1));
        if (auto slider = make_slider(info, path, value, monthly)) {
          slider->label = fmt::format("{}: {}", plain_id(sector.id), lever->second.label);
          slider->group = "Lock-in: what sticks after a thaw";
          sliders.push_back(std::move(*slider));
        }
      }
    } else if (const auto segment_lever = kSegmentLevers.find(info.path);
               segment_lever != kSegmentLevers.end()) {
      // Segments only act through demand_segments rows: without them the levers do nothing.
      if (spec.demand_segments.empty()) continue;
      for (const SegmentSpec& segment : spec.segments) {
        const std::string path = fmt::format("segments.{}.{}", segment.id,
                                             info.path.substr(info.path.rfind('.') + 1));
        if (auto slider = make_slider(info, path, segment.*(segment_lever->second.field),
                                      monthly)) {
          slider->label = fmt::format("{}: {}", segment.name.empty() ? segment.id : segment.name,
                                      segment_lever->second.label);
          slider->group = "Who buys: demand segments";
          sliders.push_back(std::move(*slider));
        }
      }
    } else if (info.path == "countries.<country>.distrust_build") {
      for (const CountrySpec& country : spec.countries) {
        if (!(country.distrust_build > 0.0)) continue;
        if (auto slider = make_slider(info, fmt::format("countries.{}.distrust_build", country.id),
                                      country.distrust_build, monthly)) {
          slider->label = fmt::format("{}: how fast distrust of a supplier that cuts it off builds",
                                      country.name.empty() ? country.id : country.name);
          slider->group = "Lock-in: what sticks after a thaw";
          sliders.push_back(std::move(*slider));
        }
      }
    } else if (info.path == "reroute_markup") {
      if (auto slider = make_slider(info, "reroute_markup", spec.reroute_markup, monthly)) {
        slider->label = "Extra cost of each hub a shipment passes";
        slider->group = "Hubs and rerouting";
        sliders.push_back(std::move(*slider));
      }
    }
  }
  return sliders;
}

namespace {

// Bounds how many CSV replays run at once: each is a whole simulation on a core, and a class
// downloading at the same moment must not starve the requests that move the charts.
class DownloadSlots {
 public:
  explicit DownloadSlots(std::size_t slots) : free_(std::max<std::size_t>(1, slots)) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    freed_.wait(lock, [&] { return free_ > 0; });
    --waiting_;
    --free_;
  }
  void release() {
    {
      const std::lock_guard lock(mutex_);
      ++free_;
    }
    freed_.notify_one();
  }
  std::size_t waiting() const {
    const std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t free_;
  std::size_t waiting_ = 0;
};

// A scenario offered by the server: loaded in the background, or failed with its message.
struct ScenarioSlot {
  std::string file;
  std::unique_ptr<ScenarioEntry> entry;  ///< set once loaded
  std::string error;                      ///< set when it failed
};

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  if (!(statm >> pages >> resident)) return 0;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// The name a downloaded scenario gets: the original's, marked as a variant with a short digest
// of its settings, so that it can be served beside the original (names must differ).
std::string variant_name(const std::string& name, const std::vector<Override>& overrides) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a: short, stable, no dependency
  for (const Override& item : overrides) {
    for (const char c : item.text + ";") {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
  }
  return fmt::format("{}-variant-{:06x}", name, hash & 0xffffffULL);
}

std::string with_name(std::string yaml, const std::string& name) {
  // resolved_yaml writes the top-level `name:` on a line of its own.
  std::size_t at = yaml.starts_with("name:") ? 0 : yaml.find("\nname:");
  if (at == std::string::npos) return fmt::format("name: {}\n", name) + yaml;
  if (yaml[at] == '\n') ++at;
  const std::size_t end = yaml.find('\n', at);
  yaml.replace(at, end - at, fmt::format("name: {}", name));
  return yaml;
}

}  // namespace

struct Classroom::Impl {
  ClassroomOptions options;
  mutable std::mutex scenarios_mutex;
  mutable std::condition_variable scenarios_loaded;
  std::vector<ScenarioSlot> scenarios;
  std::size_t scenarios_tried = 0;
  /// Scenarios students uploaded, kept until the server stops (sessions point at them).
  static constexpr std::size_t kMaxUploads = 16;
  std::vector<std::unique_ptr<ScenarioEntry>> uploads;
  std::thread loader;
  std::atomic<bool> stopping{false};
  mutable std::mutex sessions_mutex;
  std::map<std::string, std::shared_ptr<Session>> sessions;
  std::uint64_t clock = 0;
  DownloadSlots downloads{2};
  std::atomic<std::size_t> downloads_active{0};
  std::unique_ptr<Rooms> rooms;

  explicit Impl(ClassroomOptions given)
      : options(std::move(given)), downloads(options.max_concurrent_downloads) {}

  ~Impl() {
    stopping = true;
    if (loader.joinable()) loader.join();
  }

  // Loads every file in order; a later file whose name is taken is refused, as a duplicate.
  void load_all(bool throw_errors) {
    for (std::size_t index = 0; index < scenarios.size() && !stopping; ++index) {
      std::unique_ptr<ScenarioEntry> entry;
      std::string error;
      try {
        entry = std::make_unique<ScenarioEntry>(load_entry(scenarios[index].file));
        if (find_scenario(entry->spec.name) != nullptr) {
          throw UsageError(fmt::format("serve: two scenarios are named '{}' ({} is not offered)",
                                       entry->spec.name, scenarios[index].file));
        }
      } catch (const std::exception& failure) {
        if (throw_errors) throw;
        error = failure.what();
        entry.reset();
      }
      {
        const std::lock_guard lock(scenarios_mutex);
        scenarios[index].entry = std::move(entry);
        scenarios[index].error = std::move(error);
        scenarios_tried = index + 1;
      }
      scenarios_loaded.notify_all();
    }
    {
      const std::lock_guard lock(scenarios_mutex);
      scenarios_tried = scenarios.size();
    }
    scenarios_loaded.notify_all();
  }

  const ScenarioEntry* find_scenario(std::string_view name) const {
    const std::lock_guard lock(scenarios_mutex);
    for (const ScenarioSlot& slot : scenarios) {
      if (slot.entry && slot.entry->spec.name == name) return slot.entry.get();
    }
    for (const auto& entry : uploads) {
      if (entry->spec.name == name) return entry.get();
    }
    return nullptr;
  }

  // POST /api/scenarios, body: a scenario YAML (a student's download, say). It is read as if it
  // sat beside the first offered scenario, so its relative `facts:` path works; it may not
  // reach other files (`extends`, `tables`, a `facts:` outside the project), because the loader's
  // messages quote what it reads and the page may be open to a network.
  HttpReply upload_scenario(std::string_view body) {
    for (const std::string_view key : {"extends", "tables"}) {
      std::size_t at = 0;
      while ((at = body.find(key, at)) != std::string_view::npos) {
        const bool line_start = at == 0 || body[at - 1] == '\n' || body[at - 1] == ' ';
        const std::size_t after = body.find_first_not_of(' ', at + key.size());
        if (line_start && after != std::string_view::npos && body[after] == ':') {
          return error_reply(400, fmt::format("an uploaded scenario may not use '{}' (upload a "
                                              "self-contained file, as Download scenario YAML gives)", key));
        }
        at += key.size();
      }
    }
    const fs::path directory = fs::absolute(fs::path(scenarios.front().file)).parent_path();
    const fs::path project = directory.parent_path();
    const std::string virtual_path = (directory / "uploaded.yaml").string();
    const auto inside_project = [&](const fs::path& file) {
      return fs::weakly_canonical(file).string().starts_with(fs::weakly_canonical(project).string() + "/");
    };
    // The facts file is checked before the loader opens it (its messages would quote it).
    for (std::size_t at = 0; at < body.size();) {
      std::size_t end = body.find('\n', at);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(at, end - at);
      at = end + 1;
      if (!line.starts_with("facts:")) continue;
      line.remove_prefix(6);
      while (!line.empty() && (line.front() == ' ' || line.front() == '"' || line.front() == '\'')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == ' ' || line.back() == '"' || line.back() == '\'' || line.back() == '\r')) line.remove_suffix(1);
      if (const std::size_t comment = line.find(" #"); comment != std::string_view::npos) line = line.substr(0, comment);
      if (!inside_project(directory / fs::path(line))) {
        return error_reply(400, "an uploaded scenario may only read files of this project");
      }
    }
    LoadedScenario loaded;
    try {
      loaded = load_scenario_text(std::string(body), virtual_path);
    } catch (const IoError& error) {
      return error_reply(400, error.what());
    }
    for (const std::string& input : loaded.input_files) {
      if (input != virtual_path && !inside_project(input)) {
        return error_reply(400, "an uploaded scenario may only read files of this project");
      }
    }
    auto entry = std::make_unique<ScenarioEntry>(load_entry(virtual_path, std::string(body)));
    const std::string name = entry->spec.name;
    if (find_scenario(name) != nullptr) {
      return error_reply(409, fmt::format("a scenario named '{}' is already offered; rename yours", name));
    }
    const std::lock_guard lock(scenarios_mutex);
    if (uploads.size() >= kMaxUploads) {
      return error_reply(503, fmt::format("the server holds its limit of {} uploaded scenarios", kMaxUploads));
    }
    uploads.push_back(std::move(entry));
    return json_reply({{"name", name}}, 201);
  }

  bool all_tried() const {
    const std::lock_guard lock(scenarios_mutex);
    return scenarios_tried == scenarios.size();
  }

  HttpReply unknown_scenario(std::string_view name, int status) const {
    if (!all_tried()) {
      return error_reply(503, fmt::format("scenario '{}' is not loaded yet: try again in a moment", name));
    }
    return error_reply(status, fmt::format("unknown scenario '{}'", name));
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

  // The classroom page or the game page, with the names of the scenarios loaded so far.
  HttpReply page(const char* name) const {
    Json names = Json::array();
    {
      const std::lock_guard lock(scenarios_mutex);
      for (const ScenarioSlot& slot : scenarios) {
        if (slot.entry) names.push_back(slot.entry->spec.name);
      }
    }
    return {200, "text/html; charset=utf-8",
            assemble_page(name, json_for_script(Json{{"scenarios", names}}.dump())), {}, {}, {}};
  }

  // Every offered file: loaded (name, description), still loading, or failed with the reason.
  HttpReply scenario_list() const {
    Json list = Json::array();
    const std::lock_guard lock(scenarios_mutex);
    for (std::size_t index = 0; index < scenarios.size(); ++index) {
      const ScenarioSlot& slot = scenarios[index];
      if (slot.entry) {
        list.push_back({{"name", slot.entry->spec.name},
                        {"description", slot.entry->spec.description},
                        {"status", "ready"}});
      } else if (!slot.error.empty()) {
        list.push_back({{"file", slot.file}, {"status", "failed"}, {"error", slot.error}});
      } else {
        list.push_back({{"file", slot.file}, {"status", index < scenarios_tried ? "failed" : "loading"}});
      }
    }
    for (const auto& entry : uploads) {
      list.push_back({{"name", entry->spec.name}, {"description", entry->spec.description},
                      {"status", "ready"}, {"uploaded", true}});
    }
    return json_reply(list);
  }

  HttpReply health() const {
    std::size_t session_total = 0;
    {
      const std::lock_guard lock(sessions_mutex);
      session_total = sessions.size();
    }
    return json_reply({{"resident_bytes", resident_bytes()},
                       {"sessions", session_total},
                       {"rooms", rooms ? rooms->count() : 0},
                       {"downloads_active", downloads_active.load()},
                       {"downloads_waiting", downloads.waiting()},
                       {"scenarios_loading", !all_tried()}});
  }

  // Checks a settings object against a scenario's sliders: {PATH: NUMBER}.
  std::optional<HttpReply> read_settings(const ScenarioEntry& scenario, const Json& settings,
                                         std::vector<Override>& overrides) const {
    if (!settings.is_object()) return error_reply(400, "request body: 'settings' must be an object");
    for (const auto& [path, value] : settings.items()) {
      const bool known = std::any_of(scenario.sliders.begin(), scenario.sliders.end(),
                                     [&](const Slider& slider) { return slider.path == path; });
      if (!known) {
        return error_reply(400, fmt::format("settings: '{}' is not a parameter of {}'s sliders",
                                            path, scenario.spec.name));
      }
      if (!value.is_number() || !std::isfinite(value.get<double>())) {
        return error_reply(400, fmt::format("settings: '{}' must be a finite number", path));
      }
      overrides.push_back({fmt::format("{}={}", path, value.get<double>())});
    }
    return std::nullopt;
  }

  // POST /api/sessions {"scenario": NAME, "settings": {PATH: NUMBER, ...}, "replaces": ID}
  HttpReply create_session(std::string_view body) {
    const Json request = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) {
      return error_reply(400, "request body: not a JSON object");
    }
    for (const auto& [key, value] : request.items()) {
      if (key != "scenario" && key != "settings" && key != "replaces") {
        return error_reply(400, fmt::format("request body: unknown key '{}' (expected scenario, "
                                            "settings, replaces)", key));
      }
    }
    const auto scenario_name = request.find("scenario");
    if (scenario_name == request.end() || !scenario_name->is_string()) {
      return error_reply(400, "request body: 'scenario' must be a scenario name");
    }
    const ScenarioEntry* scenario = find_scenario(scenario_name->get<std::string>());
    if (scenario == nullptr) return unknown_scenario(scenario_name->get<std::string>(), 400);
    std::vector<Override> overrides;
    Json settings = Json::object();
    if (const auto given = request.find("settings"); given != request.end()) {
      if (auto refused = read_settings(*scenario, *given, overrides)) return *refused;
      settings = *given;
    }
    auto session = std::make_shared<Session>();
    session->scenario = scenario;
    session->overrides = overrides;
    session->settings = settings;
    try {
      LoadOptions load_options;
      load_options.overrides = overrides;
      session->loaded = std::make_shared<const LoadedScenario>(
          load_source(scenario->file, scenario->text, load_options));
    } catch (const ScenarioError& error) {
      // The loader's own message: the setting, the rule it breaks and the allowed range.
      return error_reply(400, error.what());
    }
    session->simulation = std::make_unique<Simulation>(session->loaded->spec);
    // The page's previous session (Setup again, Reset with new settings) goes, so that a student
    // holds one session, not one per press.
    if (const auto replaces = request.find("replaces"); replaces != request.end() && replaces->is_string()) {
      const std::lock_guard lock(sessions_mutex);
      sessions.erase(replaces->get<std::string>());
    }
    const std::string id = random_session_id();
    Json first = chart_point(scenario->charts, session->simulation->metrics());
    add_session(id, session);
    return json_reply({{"session", id}, {"scenario", scenario->spec.name}, {"settings", settings},
                       {"step", 0}, {"steps", scenario->spec.time.steps},
                       {"points", Json::array({first})}},
                      201);
  }

  // GET /api/sessions/ID: what a reloaded page needs to show the run again.
  HttpReply session_state(Session& session) {
    Json points = Json::array();
    Simulation replay(session.loaded->spec);
    points.push_back(chart_point(session.scenario->charts, replay.metrics()));
    while (replay.step_index() < session.simulation->step_index()) {
      replay.step();
      points.push_back(chart_point(session.scenario->charts, replay.metrics()));
    }
    return json_reply({{"scenario", session.scenario->spec.name},
                       {"settings", session.settings},
                       {"step", session.simulation->step_index()},
                       {"steps", session.loaded->spec.time.steps},
                       {"finished", session.simulation->finished()},
                       {"points", std::move(points)}});
  }

  // POST /api/sessions/ID/step {"steps": N}: advances and returns the new points.
  HttpReply step_session(Session& session, std::string_view body) {
    int steps = 1;
    if (!body.empty()) {
      const Json request = Json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (request.is_discarded() || !request.is_object()) {
        return error_reply(400, "request body: not a JSON object");
      }
      for (const auto& [key, value] : request.items()) {
        if (key != "steps") {
          return error_reply(400, fmt::format("request body: unknown key '{}' (expected steps)", key));
        }
      }
      if (const auto found = request.find("steps"); found != request.end()) {
        if (!found->is_number_integer() || found->get<long long>() < 1 ||
            found->get<long long>() > session.loaded->spec.time.steps) {
          return error_reply(400, fmt::format("'steps' must be an integer in 1..{}",
                                              session.loaded->spec.time.steps));
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

  // The long CSV of docs/output-format.md up to the current step, from a replay of the session's
  // scenario (same settings, same numbers), so a session keeps no history in memory; streamed
  // step by step, so a download never holds the file in memory either.
  HttpReply session_csv(Session& session) {
    const std::shared_ptr<const LoadedScenario> loaded = session.loaded;
    const int last_step = session.simulation->step_index();
    HttpReply reply{200, "text/csv; charset=utf-8", {},
                    fmt::format("{}-step{}.csv", loaded->spec.name, last_step), {}, {}};
    reply.stream = [this, loaded, last_step](const std::function<bool(std::string_view)>& write) {
      downloads.acquire();
      ++downloads_active;
      stream_at_low_priority([&](const std::function<bool(std::string_view)>& produce) {
        write_csv(loaded->spec, last_step, produce);
      }, write);
      --downloads_active;
      downloads.release();
    };
    return reply;
  }

  // Runs `make` (a replay that writes its output piece by piece) on a thread of its own at the
  // lowest CPU priority, handing the pieces to `write` on this thread through a short queue: a
  // download is background work, and the requests that move students' charts come first. (A
  // thread may lower its own priority but not raise it again, hence a thread per download.)
  static void stream_at_low_priority(
      const std::function<void(const std::function<bool(std::string_view)>&)>& make,
      const std::function<bool(std::string_view)>& write) {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::string> pieces;
    bool done = false, cancelled = false;
    std::thread producer([&] {
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
      try {
        make([&](std::string_view piece) {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return pieces.size() < 4 || cancelled; });
          if (cancelled) return false;
          pieces.emplace_back(piece);
          changed.notify_all();
          return true;
        });
      } catch (...) {
        // The replay failed mid-way: the client gets a truncated body, as when a stream breaks.
      }
      const std::lock_guard lock(mutex);
      done = true;
      changed.notify_all();
    });
    for (;;) {
      std::string piece;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !pieces.empty() || done; });
        if (pieces.empty()) break;
        piece = std::move(pieces.front());
        pieces.pop_front();
        changed.notify_all();
      }
      if (!write(piece)) {
        const std::lock_guard lock(mutex);
        cancelled = true;
        changed.notify_all();
        break;
      }
    }
    producer.join();
  }

  static void write_csv(const ScenarioSpec& spec, int last_step,
                        const std::function<bool(std::string_view)>& write) {
    const std::vector<SeriesKey> series = selected_series(spec);
    std::vector<std::string> row_prefix;  // `COUNTRY,SECTOR,PARTNER,SEGMENT,METRIC,` per series
    for (const SeriesKey& key : series) row_prefix.push_back(series_csv_fields(spec, key) + ',');
    std::string chunk(kTimeseriesHeader);
    Simulation replay(spec);
    const auto write_frame = [&](const MetricsFrame& frame) {
      const std::string date = step_label(spec.time, frame.step);
      for (std::size_t index = 0; index < series.size(); ++index) {
        const SeriesKey& key = series[index];
        append_csv_field(chunk, spec.name);
        chunk += fmt::format(",0,0,{},{},", frame.step, date);
        chunk += row_prefix[index];
        append_csv_number(chunk, series_value(frame, key));
        chunk += '\n';
      }
      const bool sent = write(chunk);
      chunk.clear();
      return sent;
    };
    if (!write_frame(replay.metrics())) return;
    while (replay.step_index() < last_step) {
      replay.step();
      if (!write_frame(replay.metrics())) return;  // the client has gone
    }
  }

  HttpReply session_yaml(Session& session) {
    const std::string directory = fs::path(session.scenario->file).parent_path().string();
    const std::string name = session.overrides.empty()
                                 ? session.loaded->spec.name + "-copy"
                                 : variant_name(session.loaded->spec.name, session.overrides);
    std::string yaml = fmt::format(
        "# Made by techdep serve from {} with the settings below; paths are relative to {},\n"
        "# so save this file there and run: techdep run <this file>. Its name differs from the\n"
        "# original's so that both can be offered by one `techdep serve`.\n",
        fs::path(session.scenario->file).filename().string(), directory.empty() ? "." : directory);
    for (const Override& item : session.overrides) yaml += fmt::format("#   --set {}\n", item.text);
    yaml += with_name(session.loaded->resolved_yaml(directory), name);
    return {200, "application/yaml; charset=utf-8", std::move(yaml), fmt::format("{}.yaml", name),
            {}, {}};
  }

  static HttpReply not_allowed(std::string_view allowed) {
    HttpReply reply = error_reply(405, fmt::format("method not allowed here; use {}", allowed));
    reply.allow = std::string(allowed);
    return reply;
  }

  HttpReply route(std::string_view method, std::string_view path, std::string_view body) {
    std::string_view query;
    if (const std::size_t mark = path.find('?'); mark != std::string_view::npos) {
      query = path.substr(mark + 1);
      path = path.substr(0, mark);
    }
    const std::vector<std::string_view> parts = split_path(path);
    const bool get = method == "GET";
    const bool post = method == "POST";
    if (parts.empty()) return get ? page("serve.html") : not_allowed("GET");
    if (parts.size() == 1 && parts[0] == "game") return get ? page("game.html") : not_allowed("GET");
    if (parts[0] != "api") return error_reply(404, fmt::format("no page '{}'", path));
    if (parts.size() == 2 && parts[1] == "health") return get ? health() : not_allowed("GET");
    if (parts.size() == 2 && parts[1] == "scenarios") {
      if (post) return upload_scenario(body);
      return get ? scenario_list() : not_allowed("GET, POST");
    }
    if (parts.size() == 3 && parts[1] == "scenarios") {
      if (!get) return not_allowed("GET");
      const ScenarioEntry* scenario = find_scenario(parts[2]);
      if (scenario == nullptr) return unknown_scenario(parts[2], 404);
      return json_reply(scenario->page);
    }
    if (parts.size() >= 2 && parts[1] == "rooms") {
      return rooms->route(method, parts, query, body);
    }
    if (parts.size() == 2 && parts[1] == "sessions") {
      return post ? create_session(body) : not_allowed("POST");
    }
    if ((parts.size() == 3 || parts.size() == 4) && parts[1] == "sessions") {
      if (parts.size() == 3 && method == "DELETE") {
        const std::lock_guard lock(sessions_mutex);
        const bool removed = sessions.erase(std::string(parts[2])) > 0;
        return removed ? json_reply({{"deleted", parts[2]}})
                       : error_reply(404, "no such session");
      }
      const std::shared_ptr<Session> session = find_session(parts[2]);
      if (!session) {
        return error_reply(404, "no such session (it may have expired: press Setup again)");
      }
      const std::lock_guard lock(session->mutex);
      if (parts.size() == 3) return get ? session_state(*session) : not_allowed("GET, DELETE");
      const std::string_view action = parts[3];
      if (action == "step") return post ? step_session(*session, body) : not_allowed("POST");
      if (action == "timeseries.csv") return get ? session_csv(*session) : not_allowed("GET");
      if (action == "scenario.yaml") return get ? session_yaml(*session) : not_allowed("GET");
    }
    return error_reply(404, fmt::format("no endpoint '{}'", path));
  }
};

Classroom::Classroom(ClassroomOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& impl = *impl_;
  if (impl.options.scenario_files.empty()) {
    throw UsageError("serve: no scenario to offer (give a scenario file or --scenario-dir)");
  }
  if (impl.options.max_sessions == 0) impl.options.max_sessions = 1;
  for (const std::string& file : impl.options.scenario_files) impl.scenarios.push_back({file, nullptr, {}});
  impl.rooms = std::make_unique<Rooms>(
      RoomsOptions{impl.options.rooms_database, impl.options.max_rooms,
                   impl.options.max_players_per_room, impl.options.room_idle_hours},
      [this](std::string_view name) -> RoomScenario {
        const ScenarioEntry* entry = impl_->find_scenario(name);
        // A game extends its scenario's file, which an uploaded scenario does not have.
        if (entry == nullptr || !entry->text.empty()) return {};
        return {&entry->spec, entry->file, &entry->charts};
      });
  if (impl.options.load_in_background) {
    impl.loader = std::thread([this] {
      impl_->load_all(/*throw_errors=*/false);
      impl_->rooms->resume();
    });
  } else {
    impl.load_all(/*throw_errors=*/true);
    impl.rooms->resume();
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

std::size_t Classroom::room_count() const { return impl_->rooms->count(); }

void Classroom::wait_until_loaded() const {
  std::unique_lock lock(impl_->scenarios_mutex);
  impl_->scenarios_loaded.wait(lock, [&] { return impl_->scenarios_tried == impl_->scenarios.size(); });
}

void Classroom::expire_idle_rooms() { impl_->rooms->expire_idle(); }

const ClassroomOptions& Classroom::options() const { return impl_->options; }

}  // namespace techdep
