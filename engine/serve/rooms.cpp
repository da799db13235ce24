#include "serve/rooms.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "serve/chart_points.hpp"
#include "serve/room_store.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

constexpr int kMaxTurns = 40;
constexpr std::size_t kMaxCarriersPerRole = 4;
// A role's score rewards trade with the target less the more the coalition restricts it: the
// game's stand-in for the exposure to secondary sanctions (a rule of the game, not of the model).
constexpr double kExposureWeight = 0.5;

long long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string random_text(std::string_view alphabet, std::size_t length) {
  std::random_device device;
  std::string text;
  for (std::size_t i = 0; i < length; ++i) text += alphabet[device() % alphabet.size()];
  return text;
}

// Scenario names are lowercase; room codes are shown in capitals.
std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

HttpReply reply_json(const Json& body, int status = 200) {
  return {status, "application/json", body.dump(), {}, {}, {}};
}
HttpReply reply_error(int status, std::string message) {
  return {status, "application/json", Json{{"error", std::move(message)}}.dump(), {}, {}, {}};
}

// An event whose parameters some levers set: one of the scenario's (base) or one the game adds.
struct Carrier {
  std::string base;  ///< the scenario event's id; empty for an event the game introduces
  EventType type = EventType::Investment;
  std::vector<CountryId> from, to;
  std::vector<SectorId> sectors;
  int at_step = 0, until_step = -1, end_step = -1;
  std::map<std::string, double> fields;  ///< field -> the scenario's value (0 for new events)
};

struct Lever {
  std::string id;  ///< `L0`, `L1`, ...
  std::string role;
  std::string label;
  std::string help;
  std::size_t carrier = 0;
  std::string field;
  double value = 0.0;  ///< the scenario's own value
};

struct Role {
  std::string id;
  std::string name;
  std::string goal;
  enum class Kind { Coalition, Target, Rising, Hub } kind = Kind::Rising;
  CountryId country = -1;  ///< a trader's country
};

// The roles and levers a scenario's story offers: the coalition of its first export control, the
// country it targets, the target's largest other supplier and one transshipment hub.
struct Design {
  CountryId target = -1;
  std::vector<CountryId> coalition;
  std::vector<SectorId> sectors;
  std::vector<Role> roles;
  std::vector<Carrier> carriers;
  std::vector<Lever> levers;
};

const char* type_name(EventType type) {
  switch (type) {
    case EventType::ExportControl: return "export_control";
    case EventType::ImportBan: return "import_ban";
    case EventType::Enforcement: return "enforcement";
    case EventType::Investment: return "investment";
    case EventType::Mandate: return "mandate";
    case EventType::ExitRestriction: return "exit_restriction";
    default: return "";
  }
}

bool contains(const std::vector<CountryId>& list, CountryId country) {
  return std::find(list.begin(), list.end(), country) != list.end();
}

double mean_over(const std::vector<SectorId>& sectors, std::size_t sector_count,
                 const std::function<double(SectorId)>& value) {
  std::vector<SectorId> list = sectors;
  if (list.empty()) {
    for (std::size_t s = 0; s < sector_count; ++s) list.push_back(static_cast<SectorId>(s));
  }
  double sum = 0.0;
  for (const SectorId sector : list) sum += value(sector);
  return list.empty() ? 0.0 : sum / static_cast<double>(list.size());
}

Design design_game(const ScenarioSpec& spec) {
  Design design;
  const auto control = std::find_if(spec.events.begin(), spec.events.end(), [](const EventSpec& event) {
    return event.type == EventType::ExportControl && !event.to.empty() && !event.from.empty();
  });
  if (control == spec.events.end()) {
    throw UsageError(fmt::format("{} has no export control, so no sanctions game", spec.name));
  }
  design.target = control->to.front();
  design.coalition = control->from;
  design.sectors = control->sectors;
  const auto name_of = [&](CountryId country) {
    const CountrySpec& entry = spec.countries[static_cast<std::size_t>(country)];
    return entry.name.empty() ? entry.id : entry.name;
  };
  const auto id_of = [&](CountryId country) { return spec.countries[static_cast<std::size_t>(country)].id; };
  std::vector<std::string> coalition_names;
  for (const CountryId country : design.coalition) coalition_names.push_back(name_of(country));
  const std::string target_name = name_of(design.target);

  std::vector<CountryId> others;
  for (std::size_t c = 0; c < spec.countries.size(); ++c) {
    const auto country = static_cast<CountryId>(c);
    if (country != design.target && !contains(design.coalition, country)) others.push_back(country);
  }
  // The rising supplier: the other country with the largest initial share of the target's supply
  // of the controlled sectors. The hub: of the rest, the one that ships to the target most
  // cheaply (a customs union), ties to the first listed.
  std::optional<CountryId> rising, hub;
  const auto initial_share = [&](CountryId country) {
    return mean_over(design.sectors, spec.sectors.size(), [&](SectorId sector) {
      return spec.supply[spec.supply_index(design.target, sector, country)];
    });
  };
  const auto cost_to_target = [&](CountryId country) {
    return spec.trade_cost[spec.pair_index(country, design.target)];
  };
  for (const CountryId country : others) {
    if (!rising || initial_share(country) > initial_share(*rising)) rising = country;
  }
  for (const CountryId country : others) {
    if (country == *rising) continue;
    if (!hub || cost_to_target(country) < cost_to_target(*hub)) hub = country;
  }

  const auto add_lever = [&](const std::string& role, std::size_t carrier, const std::string& field,
                             std::string label, std::string help) {
    design.levers.push_back({fmt::format("L{}", design.levers.size()), role, std::move(label),
                             std::move(help), carrier, field, design.carriers[carrier].fields[field]});
  };
  // The scenario's events of a type acting on `country` (or from it), else one new event.
  const auto carriers_for = [&](EventType type, CountryId country, bool acts_from,
                                std::vector<CountryId> new_from, std::vector<CountryId> new_to,
                                std::vector<std::string> fields) {
    std::vector<std::size_t> found;
    for (const EventSpec& event : spec.events) {
      if (event.type != type || found.size() == kMaxCarriersPerRole) continue;
      if (!contains(acts_from ? event.from : event.to, country)) continue;
      if (type == EventType::ExportControl && !contains(event.to, design.target)) continue;
      if (type == EventType::Enforcement && !contains(event.to, design.target)) continue;
      Carrier carrier{event.id, type, event.from, event.to, event.sectors,
                      event.at_step, event.until_step, event.end_step, {}};
      const std::map<std::string, double> values{
          {"intensity", event.intensity}, {"evasion", event.evasion}, {"level", event.level},
          {"domestic_share", event.domestic_share}};
      for (const std::string& field : fields) carrier.fields[field] = values.at(field);
      design.carriers.push_back(std::move(carrier));
      found.push_back(design.carriers.size() - 1);
    }
    if (found.empty()) {
      Carrier carrier{"", type, std::move(new_from), std::move(new_to),
                      type == EventType::ExitRestriction ? std::vector<SectorId>{} : design.sectors,
                      0, -1, -1, {}};
      for (const std::string& field : fields) carrier.fields[field] = 0.0;
      design.carriers.push_back(std::move(carrier));
      found.push_back(design.carriers.size() - 1);
    }
    return found;
  };
  const auto event_label = [&](std::size_t carrier) {
    const std::string& base = design.carriers[carrier].base;
    return base.empty() ? std::string() : fmt::format(" ({})", base);
  };

  Role coalition{"coalition", fmt::format("{}", fmt::join(coalition_names, ", ")),
                 fmt::format("Keep {}'s access to controlled technology low: its supply of the "
                             "controlled sectors that comes from {} (directly or through hubs).",
                             target_name, fmt::join(coalition_names, ", ")),
                 Role::Kind::Coalition, -1};
  design.roles.push_back(coalition);
  for (const std::size_t carrier : carriers_for(EventType::ExportControl, design.coalition.front(),
                                                true, design.coalition, {design.target},
                                                {"intensity", "evasion"})) {
    add_lever("coalition", carrier, "intensity",
              fmt::format("Export controls{}: share of exports blocked", event_label(carrier)),
              "The share of the coalition's direct exports to the target that is stopped.");
    add_lever("coalition", carrier, "evasion",
              fmt::format("Export controls{}: share that can slip through hubs", event_label(carrier)),
              "How much of the blocked demand can still find a route through third countries. "
              "Lower means stricter customs checks and end-use controls.");
  }

  design.roles.push_back({id_of(design.target), target_name,
                          fmt::format("Keep {} supplied and sovereign: sovereignty up, shortage in "
                                      "the controlled sectors down.", target_name),
                          Role::Kind::Target, design.target});
  const std::string target_role = id_of(design.target);
  for (const std::size_t carrier : carriers_for(EventType::Investment, design.target, false, {},
                                                {design.target}, {"intensity"})) {
    add_lever(target_role, carrier, "intensity",
              fmt::format("Investment in own production{}", event_label(carrier)),
              "An import-substitution programme: raises domestic capability over the years.");
  }
  for (const std::size_t carrier : carriers_for(EventType::Mandate, design.target, false, {},
                                                {design.target}, {"domestic_share"})) {
    add_lever(target_role, carrier, "domestic_share",
              fmt::format("Mandate: domestic share required{}", event_label(carrier)),
              "A floor on the share buyers must source at home (for example in critical "
              "infrastructure).");
  }
  for (const std::size_t carrier : carriers_for(EventType::ExitRestriction, design.target, false, {},
                                                {design.target}, {"level"})) {
    add_lever(target_role, carrier, "level",
              fmt::format("Exit restrictions on IT specialists{}", event_label(carrier)),
              "Makes it harder for specialists to leave; keeps talent at home.");
  }

  if (rising) {
    const std::string name = name_of(*rising);
    design.roles.push_back({id_of(*rising), name,
                            fmt::format("Sell to {} while staying clear of secondary sanctions: "
                                        "your share of its supply counts, less the more the "
                                        "coalition restricts.", target_name),
                            Role::Kind::Rising, *rising});
    for (const std::size_t carrier : carriers_for(EventType::Investment, *rising, false, {},
                                                  {*rising}, {"intensity"})) {
      add_lever(id_of(*rising), carrier, "intensity",
                fmt::format("Investment in own production{}", event_label(carrier)),
                "Capability at home: more to sell, less to buy.");
    }
    for (const std::size_t carrier : carriers_for(EventType::ExportControl, *rising, true, {*rising},
                                                  {design.target}, {"intensity"})) {
      add_lever(id_of(*rising), carrier, "intensity",
                fmt::format("Caution: share of exports to {} held back{}", target_name,
                            event_label(carrier)),
                "Holding back sales for fear of secondary sanctions on your firms and banks.");
    }
  }
  if (hub) {
    const std::string name = name_of(*hub);
    design.roles.push_back({id_of(*hub), name,
                            fmt::format("Stay a trading hub for {} without being sanctioned: what "
                                        "you ship to it counts, less the more the coalition "
                                        "restricts.", target_name),
                            Role::Kind::Hub, *hub});
    for (const std::size_t carrier : carriers_for(EventType::Enforcement, *hub, true, {*hub},
                                                  {design.target}, {"level"})) {
      add_lever(id_of(*hub), carrier, "level",
                fmt::format("Enforcement: share of re-exports to {} stopped{}", target_name,
                            event_label(carrier)),
                "Customs checks on goods passing through to the target.");
    }
  }
  return design;
}

struct Player {
  std::string name;
  std::string role;
};

struct Room {
  std::mutex mutex;
  std::string code, teacher_key, scenario;
  int turn_steps = 12, turns = 6, turn = 0;
  long long touched = 0;
  std::map<std::string, Player> players;  ///< player key -> player
  /// turn -> role -> lever -> value; the current turn's entries are the pending submissions
  std::map<int, std::map<std::string, std::map<std::string, double>>> moves;
  // Derived, rebuilt from the above (on a move, at resume):
  RoomScenario source;
  Design design;
  Json points = Json::array();
  std::map<std::string, std::vector<double>> score_history;  ///< role -> score after each turn
  Json debrief = nullptr;
};

Json room_document(const Room& room) {
  Json players = Json::object();
  for (const auto& [key, player] : room.players) players[key] = {{"name", player.name}, {"role", player.role}};
  Json moves = Json::array();
  for (const auto& [turn, roles] : room.moves) {
    for (const auto& [role, levers] : roles) moves.push_back({{"turn", turn}, {"role", role}, {"levers", levers}});
  }
  return {{"code", room.code}, {"teacher_key", room.teacher_key}, {"scenario", room.scenario},
          {"turn_steps", room.turn_steps}, {"turns", room.turns}, {"turn", room.turn},
          {"players", players}, {"moves", moves}};
}

int turn_start(const Room& room, int turn) {
  // State 0 is calibrated with the events active at step 0; moves act from step 1 at the earliest.
  return std::max(1, turn * room.turn_steps);
}

// The game as a scenario: the original (by `extends`) plus, for every lever moved by a role in
// `roles`, a lift of the event that carried it and a copy with the new values. Turns up to
// `turns_played` (exclusive).
std::string game_yaml(const Room& room, const std::string& extends, const std::set<std::string>& roles,
                      int turns_played) {
  const ScenarioSpec& spec = *room.source.spec;
  const Design& design = room.design;
  const auto ids = [&](const std::vector<CountryId>& countries) {
    std::vector<std::string> list;
    for (const CountryId c : countries) list.push_back(spec.countries[static_cast<std::size_t>(c)].id);
    return fmt::format("[{}]", fmt::join(list, ", "));
  };
  std::string yaml = fmt::format(
      "# The sanctions game of room {} (techdep serve), turn {} of {}, {} steps a turn.\n"
      "# Each move lifts the event a lever belonged to and adds a copy with the new values.\n"
      "# Save beside {} and replay with: techdep run <this file>\n"
      "extends: {}\nname: {}-game-{}\n",
      room.code, turns_played, room.turns, room.turn_steps, extends, extends, spec.name, lower(room.code));
  std::vector<std::string> events;
  std::vector<std::string> current(design.carriers.size());  // the event carrying each lever now
  std::vector<std::map<std::string, double>> values(design.carriers.size());
  for (std::size_t c = 0; c < design.carriers.size(); ++c) {
    current[c] = design.carriers[c].base;
    values[c] = design.carriers[c].fields;
  }
  for (int turn = 0; turn < turns_played; ++turn) {
    const auto moves = room.moves.find(turn);
    if (moves == room.moves.end()) continue;
    std::vector<std::map<std::string, double>> next = values;
    for (const auto& [role, levers] : moves->second) {
      if (!roles.contains(role)) continue;
      for (const auto& [lever_id, value] : levers) {
        const auto lever = std::find_if(design.levers.begin(), design.levers.end(),
                                        [&](const Lever& l) { return l.id == lever_id; });
        if (lever != design.levers.end()) next[lever->carrier][lever->field] = value;
      }
    }
    for (std::size_t c = 0; c < design.carriers.size(); ++c) {
      if (next[c] == values[c]) continue;
      const Carrier& carrier = design.carriers[c];
      const int at = std::max(turn_start(room, turn), carrier.base.empty() ? 0 : carrier.at_step);
      if (carrier.end_step >= 0 && at >= carrier.end_step) continue;  // over before the move
      values[c] = next[c];
      const std::string id = fmt::format("game-t{}-c{}", turn + 1, c);
      if (!current[c].empty()) {
        events.push_back(fmt::format("  - {{id: {}-lift, type: lift, event: {}, at: {}, source: assumption}}",
                                     id, current[c], at));
      }
      std::string text = fmt::format("  - {{id: {}, type: {}, at: {}", id, type_name(carrier.type), at);
      switch (carrier.type) {
        case EventType::ExportControl:
          text += fmt::format(", from: {}, to: {}", ids(carrier.from), ids(carrier.to));
          break;
        case EventType::Enforcement:
          text += fmt::format(", hubs: {}, to: {}", ids(carrier.from), ids(carrier.to));
          break;
        default:
          text += fmt::format(", country: {}", ids(carrier.to));
      }
      if (!carrier.sectors.empty()) {
        std::vector<std::string> sectors;
        for (const SectorId s : carrier.sectors) sectors.push_back(spec.sectors[static_cast<std::size_t>(s)].id);
        text += fmt::format(", sectors: [{}]", fmt::join(sectors, ", "));
      }
      for (const auto& [field, value] : values[c]) text += fmt::format(", {}: {}", field, value);
      // No ramp: a move takes full effect at once (a copy of a ramped event would restart its
      // ramp from zero, a drop the player did not ask for).
      if (!carrier.base.empty() && carrier.end_step > at) text += fmt::format(", end: {}", carrier.end_step);
      text += fmt::format(", source: assumption}}  # turn {}", turn + 1);
      events.push_back(std::move(text));
      current[c] = id;
    }
  }
  if (!events.empty()) yaml += fmt::format("events:\n{}\n", fmt::join(events, "\n"));
  return yaml;
}

struct Scores {
  std::map<std::string, double> by_role;
  double sovereignty = 0.0;
};

Scores score(const Room& room, const MetricsFrame& frame, const ScenarioSpec& spec) {
  const Design& design = room.design;
  const std::size_t sectors = spec.sectors.size();
  // The coalition's average control intensity on the target, as a player sees it.
  double restriction = 0.0;
  int controls = 0;
  std::map<EventId, int> lifted_at;  // a lift ends the event it names
  for (const EventSpec& event : spec.events) {
    if (event.type == EventType::Lift && event.lifted_event >= 0) {
      const auto [entry, fresh] = lifted_at.emplace(event.lifted_event, event.at_step);
      if (!fresh) entry->second = std::min(entry->second, event.at_step);
    }
  }
  for (std::size_t index = 0; index < spec.events.size(); ++index) {
    const EventSpec& event = spec.events[index];
    if (event.type != EventType::ExportControl || !contains(event.to, design.target)) continue;
    if (!std::any_of(event.from.begin(), event.from.end(),
                     [&](CountryId c) { return contains(design.coalition, c); })) continue;
    int end = event.end_step;
    if (const auto lift = lifted_at.find(static_cast<EventId>(index)); lift != lifted_at.end()) {
      end = end < 0 ? lift->second : std::min(end, lift->second);
    }
    const bool active = event.at_step <= frame.step && (end < 0 || frame.step < end);
    if (!active) continue;
    restriction += event.intensity;
    ++controls;
  }
  restriction = controls == 0 ? 0.0 : std::min(1.0, restriction / controls);
  Scores scores;
  scores.sovereignty = frame.value(Metric::Sovereignty, design.target, -1, -1);
  for (const Role& role : design.roles) {
    double value = 0.0;
    switch (role.kind) {
      case Role::Kind::Coalition:
        value = 1.0 - mean_over(design.sectors, sectors, [&](SectorId s) {
          double access = 0.0;
          for (const CountryId k : design.coalition) access += frame.value(Metric::SupplierShare, design.target, s, k);
          return access;
        });
        break;
      case Role::Kind::Target:
        value = scores.sovereignty - mean_over(design.sectors, sectors, [&](SectorId s) {
          return frame.value(Metric::Shortage, design.target, s, -1);
        });
        break;
      case Role::Kind::Rising:
      case Role::Kind::Hub: {
        // The rising power sells its own goods (origin); a hub is paid for what it ships.
        const Metric metric = role.kind == Role::Kind::Rising ? Metric::SupplierShare : Metric::ShipperShare;
        value = mean_over(design.sectors, sectors, [&](SectorId s) {
                  return frame.value(metric, design.target, s, role.country);
                }) * (1.0 - kExposureWeight * restriction);
        break;
      }
    }
    scores.by_role[role.id] = std::isfinite(value) ? std::round(1000.0 * value) / 10.0 : 0.0;
  }
  return scores;
}

}  // namespace

struct Rooms::Impl {
  RoomsOptions options;
  FindScenario find;
  std::unique_ptr<RoomStore> store;
  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<Room>> rooms;

  std::string virtual_path(const Room& room) const {
    return (fs::path(room.source.file).parent_path() / game_file_name(room)).string();
  }
  static std::string game_file_name(const Room& room) {
    return fmt::format("{}-game-{}.yaml", room.source.spec->name, lower(room.code));
  }
  std::string extends_name(const Room& room) const { return fs::path(room.source.file).filename().string(); }

  std::set<std::string> all_roles(const Room& room) const {
    std::set<std::string> roles;
    for (const Role& role : room.design.roles) roles.insert(role.id);
    return roles;
  }

  ScenarioSpec game_spec(const Room& room, const std::set<std::string>& roles, int turns_played) const {
    return load_scenario_text(game_yaml(room, extends_name(room), roles, turns_played), virtual_path(room)).spec;
  }

  // Replays the game to its current turn: chart points, scores after every turn, and at the end
  // the debrief.
  void rebuild(Room& room) const {
    const ScenarioSpec spec = game_spec(room, all_roles(room), room.turn);
    const int last = room.turn >= room.turns ? spec.time.steps : std::min(spec.time.steps, room.turn * room.turn_steps);
    Simulation simulation(spec);
    room.points = Json::array({chart_point(*room.source.charts, simulation.metrics())});
    room.score_history.clear();
    const auto record_scores = [&] {
      for (const auto& [role, value] : score(room, simulation.metrics(), spec).by_role) {
        room.score_history[role].push_back(value);
      }
    };
    record_scores();
    while (simulation.step_index() < last) {
      simulation.step();
      room.points.push_back(chart_point(*room.source.charts, simulation.metrics()));
      if (simulation.step_index() % room.turn_steps == 0 || simulation.step_index() == last) record_scores();
    }
    room.debrief = room.turn >= room.turns ? debrief(room) : Json(nullptr);
  }

  // Shapley values over the roles: the value of a set of roles is the outcome when only their
  // moves are played (the others' levers stay as the scenario wrote them). The empty set is the
  // scenario as written, the historical path the class is compared with.
  Json debrief(const Room& room) const {
    const std::vector<Role>& roles = room.design.roles;
    const std::size_t n = roles.size();
    std::vector<Scores> outcome(std::size_t{1} << n);
    for (std::size_t mask = 0; mask < outcome.size(); ++mask) {
      std::set<std::string> members;
      for (std::size_t r = 0; r < n; ++r) {
        if (mask & (std::size_t{1} << r)) members.insert(roles[r].id);
      }
      const ScenarioSpec spec = game_spec(room, members, room.turns);
      Simulation simulation(spec);
      while (!simulation.finished()) simulation.step();
      outcome[mask] = score(room, simulation.metrics(), spec);
    }
    std::vector<double> factorial(n + 1, 1.0);
    for (std::size_t i = 1; i <= n; ++i) factorial[i] = factorial[i - 1] * static_cast<double>(i);
    const auto shapley = [&](const std::function<double(const Scores&)>& value) {
      Json by_role = Json::object();
      for (std::size_t r = 0; r < n; ++r) {
        double sum = 0.0;
        for (std::size_t mask = 0; mask < outcome.size(); ++mask) {
          if (mask & (std::size_t{1} << r)) continue;
          const auto size = static_cast<std::size_t>(std::popcount(mask));
          const double weight = factorial[size] * factorial[n - size - 1] / factorial[n];
          sum += weight * (value(outcome[mask | (std::size_t{1} << r)]) - value(outcome[mask]));
        }
        by_role[roles[r].id] = sum;
      }
      return by_role;
    };
    const Scores& historical = outcome.front();
    const Scores& played = outcome.back();
    Json metrics = Json::array();
    metrics.push_back({{"label", fmt::format("{} sovereignty at the end",
                                             room.source.spec->countries[static_cast<std::size_t>(room.design.target)].id)},
                       {"historical", historical.sovereignty}, {"class", played.sovereignty},
                       {"by_role", shapley([](const Scores& s) { return s.sovereignty; })}});
    for (const Role& role : roles) {
      metrics.push_back({{"label", fmt::format("{}'s score", role.name)},
                         {"historical", historical.by_role.at(role.id)},
                         {"class", played.by_role.at(role.id)},
                         {"by_role", shapley([&](const Scores& s) { return s.by_role.at(role.id); })}});
    }
    return {{"method", fmt::format("exact Shapley values over the {} roles ({} replays)", n, outcome.size())},
            {"metrics", std::move(metrics)}};
  }

  void save(const Room& room) const {
    if (store) store->save({room.code, room_document(room).dump(), room.touched});
  }

  std::shared_ptr<Room> find_room(std::string_view code) const {
    const std::lock_guard lock(mutex);
    const auto found = rooms.find(std::string(code));
    return found == rooms.end() ? nullptr : found->second;
  }

  // `from_step`: the page already holds the points before it (a poll sends only what is new; a
  // room's earlier points never change, as a turn only adds steps).
  Json state(const Room& room, const std::string& player_key, bool teacher, int from_step) const {
    const ScenarioSpec& spec = *room.source.spec;
    Json roles = Json::array();
    const auto pending = room.moves.find(room.turn);
    for (const Role& role : room.design.roles) {
      Json players = Json::array();
      for (const auto& [key, player] : room.players) {
        if (player.role == role.id) players.push_back(player.name);
      }
      Json levers = Json::array();
      for (const Lever& lever : room.design.levers) {
        if (lever.role != role.id) continue;
        double current = lever.value;  // the latest value played, else the scenario's
        for (const auto& [turn, by_role] : room.moves) {
          if (turn > room.turn) break;
          const auto mine = by_role.find(role.id);
          if (mine == by_role.end()) continue;
          const auto value = mine->second.find(lever.id);
          if (value != mine->second.end()) current = value->second;
        }
        const Carrier& carrier = room.design.carriers[lever.carrier];
        const bool over = carrier.end_step >= 0 &&
                          std::max(turn_start(room, room.turn), carrier.at_step) >= carrier.end_step;
        levers.push_back({{"id", lever.id}, {"label", lever.label}, {"help", lever.help},
                          {"min", 0.0}, {"max", 1.0}, {"step", 0.01}, {"default", lever.value},
                          {"value", current}, {"over", over}});
      }
      const bool submitted = pending != room.moves.end() && pending->second.contains(role.id);
      roles.push_back({{"id", role.id}, {"name", role.name}, {"goal", role.goal},
                       {"score", room.score_history.contains(role.id) ? room.score_history.at(role.id).back() : 0.0},
                       {"history", room.score_history.contains(role.id) ? Json(room.score_history.at(role.id)) : Json::array()},
                       {"players", players}, {"submitted", submitted}, {"levers", levers}});
    }
    Json you = nullptr;
    if (const auto found = room.players.find(player_key); found != room.players.end()) {
      you = {{"name", found->second.name}, {"role", found->second.role}};
    }
    const int step = room.turn >= room.turns ? spec.time.steps : std::min(spec.time.steps, room.turn * room.turn_steps);
    return {{"code", room.code}, {"scenario", spec.name}, {"turn", room.turn}, {"turns", room.turns},
            {"turn_steps", room.turn_steps}, {"step", step}, {"steps", spec.time.steps},
            {"date", step_label(spec.time, step)}, {"finished", room.turn >= room.turns},
            {"roles", roles}, {"you", you}, {"teacher", teacher}, {"points", points_from(room, from_step)},
            {"debrief", room.debrief}};
  }

  static Json points_from(const Room& room, int from_step) {
    if (from_step <= 0) return room.points;
    Json points = Json::array();
    for (const Json& point : room.points) {
      if (point["step"].get<int>() >= from_step) points.push_back(point);
    }
    return points;
  }

  // The world moves one turn with whatever has been submitted.
  void advance(Room& room) const {
    if (room.turn >= room.turns) return;
    ++room.turn;
    rebuild(room);
  }

  bool everyone_submitted(const Room& room) const {
    std::set<std::string> staffed;
    for (const auto& [key, player] : room.players) staffed.insert(player.role);
    if (staffed.empty()) return false;
    const auto pending = room.moves.find(room.turn);
    if (pending == room.moves.end()) return false;
    return std::all_of(staffed.begin(), staffed.end(),
                       [&](const std::string& role) { return pending->second.contains(role); });
  }

  HttpReply create(std::string_view body) {
    const Json request = Json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object()) return reply_error(400, "request body: not a JSON object");
    for (const auto& [key, value] : request.items()) {
      if (key != "scenario" && key != "turn" && key != "turns") {
        return reply_error(400, fmt::format("request body: unknown key '{}' (expected scenario, turn, turns)", key));
      }
    }
    if (!request.contains("scenario") || !request["scenario"].is_string()) {
      return reply_error(400, "request body: 'scenario' must be a scenario name");
    }
    const RoomScenario source = find(request["scenario"].get<std::string>());
    if (source.spec == nullptr) {
      return reply_error(400, fmt::format("unknown scenario '{}' (or still loading)", request["scenario"].get<std::string>()));
    }
    const std::string turn = request.value("turn", std::string("year"));
    const int months = turn == "year" ? 12 : turn == "quarter" ? 3 : 0;
    if (months == 0) return reply_error(400, "'turn' must be \"year\" or \"quarter\"");
    if (months % source.spec->time.months_per_step != 0) {
      return reply_error(400, fmt::format("a {} is not a whole number of {}'s steps", turn, source.spec->name));
    }
    auto room = std::make_shared<Room>();
    room->turn_steps = months / source.spec->time.months_per_step;
    const int possible = (source.spec->time.steps + room->turn_steps - 1) / room->turn_steps;
    room->turns = std::min({possible, kMaxTurns});
    if (request.contains("turns")) {
      if (!request["turns"].is_number_integer() || request["turns"].get<int>() < 1 ||
          request["turns"].get<int>() > room->turns) {
        return reply_error(400, fmt::format("'turns' must be an integer in 1..{}", room->turns));
      }
      room->turns = request["turns"].get<int>();
    }
    room->scenario = source.spec->name;
    room->source = source;
    room->design = design_game(*source.spec);
    room->teacher_key = random_text("0123456789abcdef", 24);
    room->touched = now_seconds();
    {
      const std::lock_guard lock(mutex);
      if (rooms.size() >= options.max_rooms) {
        return reply_error(503, fmt::format("the server holds its limit of {} rooms; close one first", options.max_rooms));
      }
      do {
        room->code = random_text("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 6);
      } while (rooms.contains(room->code));
      rooms.emplace(room->code, room);
    }
    const std::lock_guard lock(room->mutex);
    rebuild(*room);
    save(*room);
    return reply_json({{"code", room->code}, {"teacher_key", room->teacher_key}, {"turns", room->turns},
                       {"turn_steps", room->turn_steps}}, 201);
  }

  HttpReply act(Room& room, std::string_view action, std::string_view method, std::string_view body,
                std::string_view query) {
    const auto query_value = [&](std::string_view name) {
      const std::string key = std::string(name) + "=";
      std::size_t at = 0;
      while (at < query.size()) {
        std::size_t end = query.find('&', at);
        if (end == std::string_view::npos) end = query.size();
        const std::string_view part = query.substr(at, end - at);
        if (part.starts_with(key)) return std::string(part.substr(key.size()));
        at = end + 1;
      }
      return std::string();
    };
    Json request = Json::object();
    if (method == "POST" && !body.empty()) {
      request = Json::parse(body, nullptr, false);
      if (request.is_discarded() || !request.is_object()) return reply_error(400, "request body: not a JSON object");
    }
    const auto string_field = [&](const char* key) {
      const auto found = request.find(key);
      return found != request.end() && found->is_string() ? found->get<std::string>() : std::string();
    };
    const auto known_keys = [&](std::initializer_list<std::string_view> keys) -> std::optional<HttpReply> {
      for (const auto& [key, value] : request.items()) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
          return reply_error(400, fmt::format("request body: unknown key '{}'", key));
        }
      }
      return std::nullopt;
    };
    room.touched = now_seconds();
    if (action.empty()) {
      if (method != "GET") return reply_error(405, "use GET");
      const std::string key = query_value("teacher");
      int from_step = 0;
      const std::string from = query_value("from");
      std::from_chars(from.data(), from.data() + from.size(), from_step);
      return reply_json(state(room, query_value("player"), !key.empty() && key == room.teacher_key, from_step));
    }
    if (action == "game.yaml") {
      if (method != "GET") return reply_error(405, "use GET");
      return {200, "application/yaml; charset=utf-8",
              game_yaml(room, extends_name(room), all_roles(room), room.turn),
              game_file_name(room), {}, {}};
    }
    if (method != "POST") return reply_error(405, "use POST");
    if (action == "join") {
      if (auto refused = known_keys({"name", "role"})) return *refused;
      const std::string name = string_field("name"), role = string_field("role");
      if (name.empty() || name.size() > 40) return reply_error(400, "'name' must be 1 to 40 characters");
      if (std::none_of(room.design.roles.begin(), room.design.roles.end(),
                       [&](const Role& r) { return r.id == role; })) {
        return reply_error(400, fmt::format("'role' must be one of this room's roles"));
      }
      if (room.players.size() >= options.max_players) {
        return reply_error(409, fmt::format("the room is full ({} players)", options.max_players));
      }
      const std::string key = random_text("0123456789abcdef", 20);
      room.players[key] = {name, role};
      save(room);
      return reply_json({{"player", key}, {"role", role}}, 201);
    }
    if (action == "submit") {
      if (auto refused = known_keys({"player", "levers"})) return *refused;
      const auto player = room.players.find(string_field("player"));
      if (player == room.players.end()) return reply_error(403, "unknown player: join the room first");
      if (room.turn >= room.turns) return reply_error(409, "the game is over");
      const Json levers = request.value("levers", Json::object());
      if (!levers.is_object()) return reply_error(400, "'levers' must be an object");
      std::map<std::string, double> chosen;
      for (const auto& [id, value] : levers.items()) {
        const auto lever = std::find_if(room.design.levers.begin(), room.design.levers.end(),
                                        [&](const Lever& l) { return l.id == id; });
        if (lever == room.design.levers.end() || lever->role != player->second.role) {
          return reply_error(400, fmt::format("lever '{}' is not one of your role's", id));
        }
        if (!value.is_number() || value.get<double>() < 0.0 || value.get<double>() > 1.0) {
          return reply_error(400, fmt::format("lever '{}' ({}): a number in [0, 1] expected", id, lever->label));
        }
        chosen[id] = value.get<double>();
      }
      room.moves[room.turn][player->second.role] = chosen;
      const bool stepped = everyone_submitted(room);
      if (stepped) advance(room);
      save(room);
      return reply_json({{"turn", room.turn}, {"stepped", stepped}});
    }
    if (action == "advance") {
      if (auto refused = known_keys({"teacher_key"})) return *refused;
      if (string_field("teacher_key") != room.teacher_key) return reply_error(403, "only the teacher can advance the world");
      advance(room);
      save(room);
      return reply_json({{"turn", room.turn}, {"stepped", true}});
    }
    return reply_error(404, fmt::format("no room action '{}'", action));
  }
};

Rooms::Rooms(RoomsOptions options, FindScenario find) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->find = std::move(find);
  if (!impl_->options.database.empty()) impl_->store = std::make_unique<RoomStore>(impl_->options.database);
}

Rooms::~Rooms() = default;

std::size_t Rooms::count() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->rooms.size();
}

void Rooms::resume() {
  if (!impl_->store) return;
  for (const RoomStore::Row& row : impl_->store->load_all()) {
    const Json document = Json::parse(row.document, nullptr, false);
    if (document.is_discarded() || !document.is_object()) continue;
    try {
      auto room = std::make_shared<Room>();
      room->code = document.at("code").get<std::string>();
      room->teacher_key = document.at("teacher_key").get<std::string>();
      room->scenario = document.at("scenario").get<std::string>();
      room->turn_steps = document.at("turn_steps").get<int>();
      room->turns = document.at("turns").get<int>();
      room->turn = document.at("turn").get<int>();
      room->touched = row.touched;
      for (const auto& [key, player] : document.at("players").items()) {
        room->players[key] = {player.at("name").get<std::string>(), player.at("role").get<std::string>()};
      }
      for (const Json& move : document.at("moves")) {
        room->moves[move.at("turn").get<int>()][move.at("role").get<std::string>()] =
            move.at("levers").get<std::map<std::string, double>>();
      }
      room->source = impl_->find(room->scenario);
      if (room->source.spec == nullptr) continue;  // its scenario is no longer offered
      room->design = design_game(*room->source.spec);
      impl_->rebuild(*room);
      const std::lock_guard lock(impl_->mutex);
      impl_->rooms[room->code] = room;
    } catch (const std::exception&) {
      continue;  // a row this version cannot read stays in the file, unserved
    }
  }
}

void Rooms::expire_idle() {
  const long long limit = now_seconds() - 3600LL * impl_->options.idle_hours;
  std::vector<std::string> expired;
  {
    const std::lock_guard lock(impl_->mutex);
    for (auto it = impl_->rooms.begin(); it != impl_->rooms.end();) {
      if (it->second->touched < limit) {
        expired.push_back(it->first);
        it = impl_->rooms.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (impl_->store) {
    for (const std::string& code : expired) impl_->store->remove(code);
  }
}

HttpReply Rooms::route(std::string_view method, const std::vector<std::string_view>& path,
                       std::string_view query, std::string_view body) {
  // path: api rooms [CODE [ACTION]]
  if (path.size() == 2) {
    if (method != "POST") return reply_error(405, "use POST to open a room");
    return impl_->create(body);
  }
  if (path.size() > 4) return reply_error(404, "no such room endpoint");
  std::string code(path[2]);
  std::transform(code.begin(), code.end(), code.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const std::shared_ptr<Room> room = impl_->find_room(code);
  if (!room) return reply_error(404, fmt::format("no room '{}' (check the code)", code));
  const std::lock_guard lock(room->mutex);
  return impl_->act(*room, path.size() == 4 ? path[3] : std::string_view(), method, body, query);
}

}  // namespace techdep
