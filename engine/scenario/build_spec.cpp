#include "scenario/build_spec.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "techdep/scenario/limits.hpp"

namespace techdep::detail {

int months_per_step(StepUnit unit) {
  switch (unit) {
    case StepUnit::Month:
      return 1;
    case StepUnit::Quarter:
      return 3;
    case StepUnit::Year:
      return 12;
  }
  return 1;
}

namespace {

constexpr double kShareTolerance = 1e-6;  // docs/scenario-format.md: rows sum to 1 within this

bool is_name(const std::string& text) {
  static const std::regex kPattern("[a-z0-9][a-z0-9_-]*");
  return std::regex_match(text, kPattern);
}

bool is_id(const std::string& text) {
  static const std::regex kPattern("[A-Za-z0-9][A-Za-z0-9_.-]*");
  return std::regex_match(text, kPattern);
}

/// Where a numbered step falls, or a date, after parsing.
struct When {
  int step = 0;
  std::string text;
};

struct SetTarget {
  std::string_view key;
  ParamRef::Kind kind;
};

constexpr std::array<SetTarget, 8> kSectorParams{{
    {"elasticity", ParamRef::Kind::SectorElasticity},
    {"adjustment", ParamRef::Kind::SectorAdjustment},
    {"capacity_growth", ParamRef::Kind::SectorCapacityGrowth},
    {"depreciation", ParamRef::Kind::SectorDepreciation},
    {"talent_intensity", ParamRef::Kind::SectorTalentIntensity},
    {"security_sensitivity", ParamRef::Kind::SectorSecuritySensitivity},
    {"demand_pull", ParamRef::Kind::SectorDemandPull},
    {"learning", ParamRef::Kind::SectorLearning},
}};

constexpr std::array<SetTarget, 4> kCountryParams{{
    {"sanction_push", ParamRef::Kind::CountrySanctionPush},
    {"base_emigration", ParamRef::Kind::CountryBaseEmigration},
    {"return_rate", ParamRef::Kind::CountryReturnRate},
    {"training_rate", ParamRef::Kind::CountryTrainingRate},
}};

/// Event keys that hold a number, and where the number goes.
struct NumberSlot {
  std::string_view key;
  double EventSpec::*member;
};

constexpr std::array<NumberSlot, 12> kEventNumbers{{
    {"intensity", &EventSpec::intensity},
    {"evasion", &EventSpec::evasion},
    {"level", &EventSpec::level},
    {"trade_cost_cut", &EventSpec::trade_cost_cut},
    {"tech_transfer", &EventSpec::tech_transfer},
    {"trust", &EventSpec::trust},
    {"domestic_share", &EventSpec::domestic_share},
    {"distrust", &EventSpec::distrust},
    {"capacity_hit", &EventSpec::capacity_hit},
    {"rate", &EventSpec::rate},
    {"return_suppression", &EventSpec::return_suppression},
    {"value", &EventSpec::value},
}};

/// Country keys that hold a number, and where the number goes.
struct CountryNumberSlot {
  std::string_view key;
  double CountrySpec::*member;
};

constexpr std::array<CountryNumberSlot, 11> kCountryNumbers{{
    {"talent", &CountrySpec::talent},
    {"sanction_push", &CountrySpec::sanction_push},
    {"base_emigration", &CountrySpec::base_emigration},
    {"return_rate", &CountrySpec::return_rate},
    {"training_rate", &CountrySpec::training_rate},
    {"distrust_build", &CountrySpec::distrust_build},
    {"distrust_decay", &CountrySpec::distrust_decay},
    {"host_push", &CountrySpec::host_push},
    {"remote_share", &CountrySpec::remote_share},
    {"remote_weight", &CountrySpec::remote_weight},
    {"remote_attrition", &CountrySpec::remote_attrition},
}};

/// Which role vector a country-list key of an event fills (scenario_spec.hpp, EventSpec).
bool fills_from(std::string_view key) {
  return key == "from" || key == "supplier" || key == "hubs" || key == "members" ||
         key == "attributed_to" || key == "by" || key == "hosts";
}

class SpecBuilder {
 public:
  SpecBuilder(Checker& checker, const SupplyTable* csv_supply)
      : check_(checker), csv_supply_(csv_supply) {}

  /// False when the rows of `csv_supply` need the tree's checks (build_spec's overload).
  bool csv_supply_read() const { return csv_supply_ok_; }

  ScenarioSpec build(const Node& root) {
    if (!check_.expect_map(root, "")) return spec_;
    check_.check_keys(root, kScenarioObject, "");
    read_header(root);
    read_time(root);
    read_agents(root);
    collect_ids(root);
    // Over a cap, stop before the tables sized by it (C x S x C) are allocated.
    if (!within_limits(root)) return spec_;
    read_blocs(root);
    read_countries(root);
    read_sectors(root);
    read_supply(root);
    if (!csv_supply_ok_) return spec_;
    read_routes(root);
    read_production_sites(root);
    read_shipping(root);
    read_tables(root);
    read_segments(root);
    read_demand_segments(root);
    read_events(root);
    read_rules(root);
    read_observations(root);
    read_outputs(root);
    return spec_;
  }

 private:
  // ---- header and time --------------------------------------------------------------------

  void read_header(const Node& root) {
    if (const Node* version = Checker::value_of(root, "schema_version")) {
      const auto value = check_.integer(*version, "schema_version", kAnyNumber);
      if (value && *value != kSchemaVersion) {
        check_.error("unsupported-schema-version", *version, "schema_version",
                     fmt::format("schema_version: {} is not supported, expected {}", *value,
                                 kSchemaVersion));
      }
    }
    if (const Node* name = Checker::value_of(root, "name")) {
      if (auto text = check_.text(*name, "name")) {
        if (!is_name(*text)) {
          check_.error("bad-name", *name, "name",
                       fmt::format("name: '{}' is not a valid name, expected lowercase letters, "
                                   "digits, '-' and '_' ([a-z0-9][a-z0-9_-]*)",
                                   *text));
        }
        spec_.name = *text;
      }
    }
    if (const Node* description = Checker::value_of(root, "description")) {
      spec_.description = check_.text(*description, "description").value_or("");
    }
    if (const Node* seed = Checker::value_of(root, "seed")) {
      spec_.seed = check_.seed(*seed, "seed").value_or(1);
    }
    if (const Node* mode = Checker::value_of(root, "mode")) {
      const auto value = check_.choice(*mode, "mode", kScenarioObject.find("mode")->choices);
      spec_.mode = value == "agents" ? Mode::Agents : Mode::Aggregate;
    }
    if (const Node* markup = Checker::value_of(root, "reroute_markup")) {
      spec_.reroute_markup =
          check_.number(*markup, "reroute_markup", kScenarioObject.find("reroute_markup")->range)
              .value_or(0.3);
    }
  }

  void read_agents(const Node& root) {
    const Node* agents = Checker::value_of(root, "agents");
    if (agents == nullptr || !check_.expect_map(*agents, "agents")) return;
    check_.check_keys(*agents, kAgentsObject, "agents");
    AgentsSpec& spec = spec_.agents;
    const auto count = [&](std::string_view key, int fallback) {
      const Node* given = Checker::value_of(*agents, key);
      if (given == nullptr) return fallback;
      const auto value =
          check_.integer(*given, join_path("agents", key), kAgentsObject.find(key)->range);
      return value ? static_cast<int>(*value) : fallback;
    };
    const auto number = [&](std::string_view key) {
      return check_.field_number(*agents, kAgentsObject, key, "agents", 1);
    };
    spec.firms_per_cell = count("firms_per_cell", spec.firms_per_cell);
    spec.workers_per_country = count("workers_per_country", spec.workers_per_country);
    spec.firm_size_shape = number("firm_size_shape");
    spec.review_spread = number("review_spread");
    spec.risk_aversion_spread = number("risk_aversion_spread");
    spec.skill_effect = number("skill_effect");
    spec.remote_share = number("remote_share");
    spec.remote_effect = number("remote_effect");
    spec.family_share = number("family_share");
    spec.family_effect = number("family_effect");
    spec.network_weight = number("network_weight");
    if (const Node* heterogeneity = Checker::value_of(*agents, "heterogeneity")) {
      spec.heterogeneity =
          check_.boolean(*heterogeneity, "agents.heterogeneity").value_or(spec.heterogeneity);
    }
  }

  void read_time(const Node& root) {
    const Node* time = Checker::value_of(root, "time");
    if (time == nullptr || !check_.expect_map(*time, "time")) {
      time_ok_ = false;
      return;
    }
    check_.check_keys(*time, kTimeObject, "time");
    TimeSpec& spec = spec_.time;
    if (const Node* start = Checker::value_of(*time, "start")) {
      int year = 0;
      int month = 0;
      int day = 0;
      if (parse_calendar(*start, year, month, day) && day == 0) {
        spec.start_year = year;
        spec.start_month = month;
      } else {
        check_.error("bad-date", *start, "time.start",
                     fmt::format("time.start: {} is not a month, expected YYYY-MM",
                                 start->describe()));
        time_ok_ = false;
      }
    }
    if (const Node* step = Checker::value_of(*time, "step")) {
      const auto value = check_.choice(*step, "time.step", kTimeObject.find("step")->choices);
      if (value == "quarter") spec.step = StepUnit::Quarter;
      if (value == "year") spec.step = StepUnit::Year;
    }
    spec.months_per_step = months_per_step(spec.step);
    if (const Node* steps = Checker::value_of(*time, "steps")) {
      const auto value = check_.integer(*steps, "time.steps", kTimeObject.find("steps")->range);
      if (value) {
        spec.steps = static_cast<int>(*value);
      } else {
        time_ok_ = false;
      }
    } else {
      time_ok_ = false;
    }
  }

  /// YYYY-MM or YYYY-MM-DD (day = 0 when absent). False when malformed.
  static bool parse_calendar(const Node& node, int& year, int& month, int& day) {
    static const std::regex kDate("([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?");
    std::smatch match;
    if (!node.is_scalar() || !std::regex_match(node.text, match, kDate)) return false;
    year = std::stoi(match[1].str());
    month = std::stoi(match[2].str());
    day = match[3].matched ? std::stoi(match[3].str()) : 0;
    if (month < 1 || month > 12) return false;
    if (match[3].matched) {
      constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      const int limit = month == 2 && !leap ? 28 : kDays[static_cast<std::size_t>(month - 1)];
      if (day < 1 || day > limit) return false;
    }
    return true;
  }

  /// A date or step number as a step; may lie outside the horizon (callers check).
  std::optional<When> read_when(const Node& node, std::string_view path) {
    if (!node.is_scalar()) {
      check_.error("wrong-type", node, path,
                   fmt::format("{}: expected a date (YYYY-MM or YYYY-MM-DD) or a step number, "
                               "got {}",
                               path, node.describe()));
      return std::nullopt;
    }
    if (!node.quoted && !node.text.empty() &&
        std::all_of(node.text.begin(), node.text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      if (node.text.size() > 9) {
        check_.error("out-of-range", node, path,
                     fmt::format("{}: step {} is outside the horizon (steps 0 to {})", path,
                                 node.text, spec_.time.steps));
        return std::nullopt;
      }
      return When{std::stoi(node.text), node.text};
    }
    int year = 0;
    int month = 0;
    int day = 0;
    if (!parse_calendar(node, year, month, day)) {
      check_.error("bad-date", node, path,
                   fmt::format("{}: '{}' is not a valid date, expected YYYY-MM, YYYY-MM-DD or a "
                               "step number",
                               path, node.text));
      return std::nullopt;
    }
    const int months = (year * 12 + month - 1) -
                       (spec_.time.start_year * 12 + spec_.time.start_month - 1);
    // floor division: a date before the start maps to a negative step
    const int mps = spec_.time.months_per_step;
    const int step = months >= 0 ? months / mps : -((-months + mps - 1) / mps);
    return When{step, node.text};
  }

  // The range the value had to fall in: an event's `at` stops one step before the end.
  std::string horizon_text(int last_step) const {
    return fmt::format("steps 0 to {}, {} to {}", last_step, step_label(spec_.time, 0),
                       step_label(spec_.time, last_step));
  }

  /// Reads a date that must fall within [0, last_step].
  std::optional<int> read_step(const Node& node, std::string_view path, int last_step) {
    const std::optional<When> when = read_when(node, path);
    if (!when || !time_ok_) return std::nullopt;
    if (when->step < 0 || when->step > last_step) {
      check_.error("outside-horizon", node, path,
                   fmt::format("{}: {} is outside the horizon ({})", path, when->text,
                               horizon_text(last_step)));
      return std::nullopt;
    }
    return when->step;
  }

  // ---- limits (include/techdep/scenario/limits.hpp, docs/reliability.md) --------------------

  bool within_limits(const Node& root) {
    bool ok = true;
    const auto refuse = [&](const Loc& where, std::string_view path, std::string message) {
      check_.error("limit-exceeded", where, path, std::move(message));
      ok = false;
    };
    const auto count_cap = [&](std::string_view key, std::size_t count, int cap) {
      const Node* map = Checker::value_of(root, key);
      if (map == nullptr || count <= static_cast<std::size_t>(cap)) return;
      refuse(map->entries[static_cast<std::size_t>(cap)].key_loc, key,
             fmt::format("{}: {} entries exceed the limit of {} (docs/reliability.md)", key,
                         count, cap));
    };
    count_cap("countries", spec_.countries.size(), limits::kMaxCountries);
    count_cap("sectors", spec_.sectors.size(), limits::kMaxSectors);
    const Node* time = Checker::value_of(root, "time");
    const Node* steps = time != nullptr && time->is_map() ? Checker::value_of(*time, "steps") : nullptr;
    // Dates are written YYYY-MM: a horizon past year 9999 would need a fifth digit.
    const long long last_month = static_cast<long long>(spec_.time.start_year) * 12 +
                                 (spec_.time.start_month - 1) +
                                 static_cast<long long>(spec_.time.steps) *
                                     spec_.time.months_per_step;
    if (steps != nullptr && spec_.time.steps > limits::kMaxSteps) {
      refuse(steps->loc, "time.steps",
             fmt::format("time.steps: {} exceeds the limit of {} steps (docs/reliability.md)",
                         spec_.time.steps, limits::kMaxSteps));
    } else if (steps != nullptr && last_month / 12 > limits::kLastYear) {
      refuse(steps->loc, "time.steps",
             fmt::format("time.steps: {} steps from {} end in year {}, after {} "
                         "(docs/reliability.md)",
                         spec_.time.steps, spec_.time.start_year, last_month / 12,
                         limits::kLastYear));
    }
    if (spec_.mode == Mode::Agents) {
      const auto countries = static_cast<std::int64_t>(spec_.countries.size());
      const std::int64_t agents =
          static_cast<std::int64_t>(spec_.agents.firms_per_cell) * countries *
              static_cast<std::int64_t>(spec_.sectors.size()) +
          static_cast<std::int64_t>(spec_.agents.workers_per_country) * countries;
      if (agents > limits::kMaxAgents) {
        const Node* agents_node = Checker::value_of(root, "agents");
        refuse(agents_node != nullptr ? agents_node->loc : root.loc, "agents",
               fmt::format("agents: {} agents (firms_per_cell x countries x sectors + "
                           "workers_per_country x countries) exceed the limit of {} "
                           "(docs/reliability.md)",
                           agents, limits::kMaxAgents));
      }
    }
    return ok;
  }

  // ---- ids ----------------------------------------------------------------------------------

  void collect_ids(const Node& root) {
    if (const Node* countries = Checker::value_of(root, "countries")) {
      if (check_.expect_map(*countries, "countries")) {
        for (const MapEntry& entry : countries->entries) {
          check_id(entry, "countries");
          countries_[entry.key] = static_cast<int>(spec_.countries.size());
          CountrySpec country;
          country.id = entry.key;
          country.name = entry.key;
          spec_.countries.push_back(country);
        }
      }
    }
    if (const Node* sectors = Checker::value_of(root, "sectors")) {
      if (check_.expect_map(*sectors, "sectors")) {
        for (const MapEntry& entry : sectors->entries) {
          check_id(entry, "sectors");
          sectors_[entry.key] = static_cast<int>(spec_.sectors.size());
          SectorSpec sector;
          sector.id = entry.key;
          sector.name = entry.key;
          spec_.sectors.push_back(sector);
        }
      }
    }
    if (const Node* segments = Checker::value_of(root, "segments")) {
      if (check_.expect_map(*segments, "segments")) {
        for (const MapEntry& entry : segments->entries) {
          check_id(entry, "segments");
          segments_[entry.key] = static_cast<int>(spec_.segments.size());
          SegmentSpec segment;
          segment.id = entry.key;
          segment.name = entry.key;
          spec_.segments.push_back(segment);
        }
      }
    }
    if (const Node* blocs = Checker::value_of(root, "blocs")) {
      if (check_.expect_map(*blocs, "blocs")) {
        for (const MapEntry& entry : blocs->entries) add_bloc(entry.key, entry.key_loc, "blocs");
      }
    }
    // A country's `blocs:` may create a bloc that the blocs map does not declare.
    if (const Node* countries = Checker::value_of(root, "countries"); countries && countries->is_map()) {
      for (const MapEntry& entry : countries->entries) {
        const Node* list = entry.value->is_map() ? Checker::value_of(*entry.value, "blocs") : nullptr;
        if (list == nullptr || !list->is_seq()) continue;
        for (const NodePtr& item : list->items) {
          if (item->is_scalar() && blocs_.count(item->text) == 0) {
            add_bloc(item->text, item->loc, join_path(join_path("countries", entry.key), "blocs"));
          }
        }
      }
    }
  }

  void check_id(const MapEntry& entry, std::string_view map_path) {
    if (!is_id(entry.key)) {
      check_.error("bad-name", entry.key_loc, join_path(map_path, entry.key),
                   fmt::format("{}: '{}' is not a valid id, expected letters, digits, '_', '-' "
                               "and '.'",
                               map_path, entry.key));
    }
  }

  void add_bloc(const std::string& id, const Loc& loc, std::string_view path) {
    // Bloc ids reach CSV, JSON and the resolved YAML like country ids, so they obey the same
    // rule (a `--set` once created one holding invalid UTF-8 that the manifest cannot encode).
    if (!is_id(id)) {
      check_.error("bad-name", loc, join_path(path, id),
                   fmt::format("{}: '{}' is not a valid bloc id, expected letters, digits, '_', "
                               "'-' and '.'",
                               path, id));
      return;
    }
    if (countries_.count(id) > 0) {
      check_.error("duplicate-id", loc, join_path(path, id),
                   fmt::format("{}: bloc id '{}' is already a country id", path, id));
      return;
    }
    if (blocs_.count(id) > 0) return;
    blocs_[id] = static_cast<int>(spec_.blocs.size());
    spec_.blocs.push_back(BlocSpec{id, {}});
  }

  std::vector<std::string> names(const std::map<std::string, int>& ids) const {
    std::vector<std::string> out;
    for (const auto& [id, index] : ids) out.push_back(id);
    return out;
  }

  std::optional<int> lookup(const std::map<std::string, int>& ids, const Node& node,
                            std::string_view path, std::string_view what) {
    if (!node.is_scalar()) {
      check_.error("wrong-type", node, path,
                   fmt::format("{}: expected a {} id, got {}", path_text(path), what,
                               node.describe()));
      return std::nullopt;
    }
    return lookup(ids, node.text, node.loc, path, what);
  }

  std::optional<int> lookup(const std::map<std::string, int>& ids, const std::string& id,
                            const Loc& loc, std::string_view path, std::string_view what) {
    const auto found = ids.find(id);
    if (found != ids.end()) return found->second;
    check_.error("unknown-reference", loc, path,
                 fmt::format("{}: unknown {} '{}'{}", path_text(path), what, id,
                             did_you_mean(id, names(ids))));
    return std::nullopt;
  }

  std::optional<int> country(const Node& node, std::string_view path) {
    return lookup(countries_, node, path, "country");
  }
  std::optional<int> sector(const Node& node, std::string_view path) {
    return lookup(sectors_, node, path, "sector");
  }

  /// A country or bloc id, or a list of them: sorted, unique country ids.
  std::vector<int> country_list(const Node& node, std::string_view path) {
    std::vector<int> out;
    auto add = [&](const Node& item, std::string_view item_path) {
      if (!item.is_scalar()) {
        check_.error("wrong-type", item, item_path,
                     fmt::format("{}: expected a country or bloc id, got {}", item_path,
                                 item.describe()));
        return;
      }
      if (const auto found = countries_.find(item.text); found != countries_.end()) {
        out.push_back(found->second);
        return;
      }
      if (const auto found = blocs_.find(item.text); found != blocs_.end()) {
        const auto& members = spec_.blocs[static_cast<std::size_t>(found->second)].members;
        out.insert(out.end(), members.begin(), members.end());
        return;
      }
      std::vector<std::string> candidates = names(countries_);
      for (const auto& [id, index] : blocs_) candidates.push_back(id);
      check_.error("unknown-reference", item, item_path,
                   fmt::format("{}: unknown country or bloc '{}'{}", item_path, item.text,
                               did_you_mean(item.text, candidates)));
    };
    if (node.is_seq()) {
      for (std::size_t i = 0; i < node.items.size(); ++i) add(*node.items[i], index_path(path, i));
    } else {
      add(node, path);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  /// A sector id or a list of them, in the order given, without repeats.
  std::vector<int> sector_list(const Node& node, std::string_view path) {
    std::vector<int> out;
    auto add = [&](const Node& item, std::string_view item_path) {
      if (const auto id = sector(item, item_path)) {
        if (std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
      }
    };
    if (node.is_seq()) {
      for (std::size_t i = 0; i < node.items.size(); ++i) add(*node.items[i], index_path(path, i));
    } else {
      add(node, path);
    }
    return out;
  }

  std::vector<int> segment_list(const Node& node, std::string_view path) {
    std::vector<int> out;
    auto add = [&](const Node& item, std::string_view item_path) {
      if (const auto id = lookup(segments_, item, item_path, "segment")) {
        if (std::find(out.begin(), out.end(), *id) == out.end()) out.push_back(*id);
      }
    };
    if (node.is_seq()) {
      for (std::size_t i = 0; i < node.items.size(); ++i) add(*node.items[i], index_path(path, i));
    } else {
      add(node, path);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // ---- blocs, countries, sectors ------------------------------------------------------------

  void read_blocs(const Node& root) {
    const Node* blocs = Checker::value_of(root, "blocs");
    if (blocs == nullptr || !blocs->is_map()) return;
    for (const MapEntry& entry : blocs->entries) {
      const auto found = blocs_.find(entry.key);
      if (found == blocs_.end()) continue;
      const std::string path = join_path("blocs", entry.key);
      std::vector<int> members;
      if (entry.value->is_null()) {
        check_.error("wrong-type", *entry.value, path,
                     fmt::format("{}: expected a list of country ids, got null", path));
        continue;
      }
      const Node& list = *entry.value;
      auto add = [&](const Node& item, std::string_view item_path) {
        if (const auto id = country(item, item_path)) members.push_back(*id);
      };
      if (list.is_seq()) {
        for (std::size_t i = 0; i < list.items.size(); ++i) add(*list.items[i], index_path(path, i));
      } else {
        add(list, path);
      }
      auto& stored = spec_.blocs[static_cast<std::size_t>(found->second)].members;
      stored.insert(stored.end(), members.begin(), members.end());
    }
  }

  void read_countries(const Node& root) {
    const Node* countries = Checker::value_of(root, "countries");
    if (countries == nullptr || !countries->is_map()) return;
    const int mps = spec_.time.months_per_step;
    for (const MapEntry& entry : countries->entries) {
      const std::string path = join_path("countries", entry.key);
      CountrySpec& country = spec_.countries[static_cast<std::size_t>(countries_[entry.key])];
      const Node& node = *entry.value;
      if (!check_.expect_map(node, path)) continue;
      check_.check_keys(node, kCountryObject, path);
      if (const Node* name = Checker::value_of(node, "name")) {
        country.name = check_.text(*name, join_path(path, "name")).value_or(entry.key);
      }
      for (const CountryNumberSlot& slot : kCountryNumbers) {
        country.*slot.member = check_.field_number(node, kCountryObject, slot.key, path, mps);
      }
      read_source_field(node, path);
      const std::size_t country_count = spec_.countries.size();
      country.attraction.assign(country_count, 0.0);
      if (const Node* attraction = Checker::value_of(node, "attraction")) {
        country.attraction = weights(*attraction, join_path(path, "attraction"), countries_,
                                     "country", false);
      }
      country.sector_weights.assign(spec_.sectors.size(),
                                    spec_.sectors.empty() ? 0.0 : 1.0 / static_cast<double>(spec_.sectors.size()));
      if (const Node* sector_weights = Checker::value_of(node, "sector_weights")) {
        country.sector_weights = weights(*sector_weights, join_path(path, "sector_weights"),
                                         sectors_, "sector", true);
      }
      if (const Node* blocs = Checker::value_of(node, "blocs")) {
        const std::string blocs_path = join_path(path, "blocs");
        if (check_.expect_list(*blocs, blocs_path)) {
          for (std::size_t i = 0; i < blocs->items.size(); ++i) {
            const auto bloc = lookup(blocs_, *blocs->items[i], index_path(blocs_path, i), "bloc");
            if (bloc) spec_.blocs[static_cast<std::size_t>(*bloc)].members.push_back(countries_[entry.key]);
          }
        }
      }
    }
    for (BlocSpec& bloc : spec_.blocs) {
      std::sort(bloc.members.begin(), bloc.members.end());
      bloc.members.erase(std::unique(bloc.members.begin(), bloc.members.end()), bloc.members.end());
    }
  }

  void read_source_field(const Node& map, std::string_view path) {
    if (const Node* source = Checker::value_of(map, "source")) {
      check_.source(*source, join_path(path, "source"));
    }
  }

  /// Calls fn(entry, its path) for every entry of a map that is not `source` or
  /// `note` (whose sources are checked); false when `node` is not a map.
  template <class Fn>
  bool for_entries(const Node& node, std::string_view path, Fn&& fn) {
    if (!check_.expect_map(node, path)) return false;
    for (const MapEntry& entry : node.entries) {
      const std::string entry_path = join_path(path, entry.key);
      if (entry.key == "source") {
        check_.source(*entry.value, entry_path);
        continue;
      }
      if (entry.key == "note") continue;
      fn(entry, entry_path);
    }
    return true;
  }

  /// Reads `id -> number` (plus optional source/note); returns a dense vector over `ids`.
  /// `present` marks the ids given.
  std::vector<double> values(const Node& map, std::string_view path,
                             const std::map<std::string, int>& ids, std::string_view what,
                             const Range& range, std::vector<bool>* present = nullptr) {
    std::vector<double> out(ids.size(), 0.0);
    if (present != nullptr) present->assign(ids.size(), false);
    for_entries(map, path, [&](const MapEntry& entry, const std::string& entry_path) {
      const auto id = lookup(ids, entry.key, entry.key_loc, entry_path, what);
      const auto value = check_.number(*entry.value, entry_path, range);
      if (!id || !value) return;
      out[static_cast<std::size_t>(*id)] = *value;
      if (present != nullptr) (*present)[static_cast<std::size_t>(*id)] = true;
    });
    return out;
  }

  /// Non-negative weights normalised to sum 1; all zero allowed unless `need_positive`.
  std::vector<double> weights(const Node& map, std::string_view path,
                              const std::map<std::string, int>& ids, std::string_view what,
                              bool need_positive) {
    std::vector<double> out = values(map, path, ids, what, kNonNegative);
    const double sum = std::accumulate(out.begin(), out.end(), 0.0);
    if (sum > 0.0) {
      for (double& value : out) value /= sum;
    } else if (need_positive && map.is_map()) {
      check_.error("out-of-range", map, path,
                   fmt::format("{}: weights sum to 0, expected at least one positive weight",
                               path));
    }
    return out;
  }

  void read_sectors(const Node& root) {
    const Node* sectors = Checker::value_of(root, "sectors");
    const std::size_t count = spec_.sectors.size();
    spec_.inputs.assign(count * count, 0.0);
    world_supply_.assign(count, {});
    if (sectors == nullptr || !sectors->is_map()) return;
    const int mps = spec_.time.months_per_step;
    for (const MapEntry& entry : sectors->entries) {
      const std::string path = join_path("sectors", entry.key);
      const int id = sectors_[entry.key];
      SectorSpec& sector = spec_.sectors[static_cast<std::size_t>(id)];
      const Node& node = *entry.value;
      if (!check_.expect_map(node, path)) continue;
      check_.check_keys(node, kSectorObject, path);
      if (const Node* name = Checker::value_of(node, "name")) {
        sector.name = check_.text(*name, join_path(path, "name")).value_or(entry.key);
      }
      sector.elasticity = check_.field_number(node, kSectorObject, "elasticity", path, mps);
      sector.adjustment = check_.field_number(node, kSectorObject, "adjustment", path, mps);
      sector.capacity_growth = check_.field_number(node, kSectorObject, "capacity_growth", path, mps);
      sector.depreciation = check_.field_number(node, kSectorObject, "depreciation", path, mps);
      sector.talent_intensity =
          check_.field_number(node, kSectorObject, "talent_intensity", path, mps);
      sector.security_sensitivity =
          check_.field_number(node, kSectorObject, "security_sensitivity", path, mps);
      sector.demand_pull = check_.field_number(node, kSectorObject, "demand_pull", path, mps);
      sector.learning = check_.field_number(node, kSectorObject, "learning", path, mps);
      sector.entry_speed = check_.field_number(node, kSectorObject, "entry_speed", path, mps);
      sector.switching_cost = check_.field_number(node, kSectorObject, "switching_cost", path, mps);
      sector.network_effect = check_.field_number(node, kSectorObject, "network_effect", path, mps);
      sector.installed_base_turnover =
          check_.field_number(node, kSectorObject, "installed_base_turnover", path, mps);
      sector.reentry_speed = check_.field_number(node, kSectorObject, "reentry_speed", path, mps);
      sector.idle_pricing = check_.field_number(node, kSectorObject, "idle_pricing", path, mps);
      sector.learning_by_doing =
          check_.field_number(node, kSectorObject, "learning_by_doing", path, mps);
      read_source_field(node, path);
      if (const Node* world = Checker::value_of(node, "world_supply")) {
        world_supply_[static_cast<std::size_t>(id)] =
            share_row(*world, join_path(path, "world_supply"));
      }
      if (const Node* inputs = Checker::value_of(node, "inputs")) {
        const std::string inputs_path = join_path(path, "inputs");
        const std::vector<double> column =
            values(*inputs, inputs_path, sectors_, "sector", kSectorObject.find("inputs")->range);
        const double sum = std::accumulate(column.begin(), column.end(), 0.0);
        if (sum >= 1.0) {
          check_.error("inputs-too-large", *inputs, inputs_path,
                       fmt::format("{}: input coefficients sum to {:.10g}, expected less than 1",
                                   inputs_path, sum));
        }
        for (std::size_t input = 0; input < count; ++input) {
          spec_.inputs[spec_.input_index(static_cast<int>(input), id)] = column[input];
        }
      }
    }
  }

  /// Origin shares of one buyer and sector: they must sum to 1 within the tolerance and are then
  /// renormalised exactly. Empty when invalid.
  std::vector<double> share_row(const Node& row, std::string_view path) {
    const std::size_t before = check_.diagnostics().size();
    std::vector<double> shares = values(row, path, countries_, "country", kUnitInterval);
    if (check_.diagnostics().size() != before) return {};
    const double sum = std::accumulate(shares.begin(), shares.end(), 0.0);
    if (std::abs(sum - 1.0) > kShareTolerance) {
      check_.error("shares-do-not-sum", row, path,
                   fmt::format("{}: shares sum to {:.10g}, expected 1 (within 1e-6)", path, sum));
      return {};
    }
    for (double& share : shares) share /= sum;
    return shares;
  }

  // ---- demand segments -----------------------------------------------------------------------

  void read_segments(const Node& root) {
    const Node* segments = Checker::value_of(root, "segments");
    if (segments == nullptr || !segments->is_map()) return;
    const int mps = spec_.time.months_per_step;
    for (const MapEntry& entry : segments->entries) {
      const std::string path = join_path("segments", entry.key);
      SegmentSpec& segment = spec_.segments[static_cast<std::size_t>(segments_[entry.key])];
      const Node& node = *entry.value;
      if (node.is_null()) continue;  // `firms: {}` or `firms:` alone: every default
      if (!check_.expect_map(node, path)) continue;
      check_.check_keys(node, kSegmentObject, path);
      if (const Node* name = Checker::value_of(node, "name")) {
        segment.name = check_.text(*name, join_path(path, "name")).value_or(entry.key);
      }
      segment.elasticity = check_.field_number(node, kSegmentObject, "elasticity", path, mps);
      segment.adjustment = check_.field_number(node, kSegmentObject, "adjustment", path, mps);
      segment.security_sensitivity =
          check_.field_number(node, kSegmentObject, "security_sensitivity", path, mps);
      if (const Node* first = Checker::value_of(node, "served_first")) {
        segment.served_first =
            check_.boolean(*first, join_path(path, "served_first")).value_or(false);
      }
      read_source_field(node, path);
    }
  }

  /// buyer -> sector -> segment -> share (rows sum to 1), then each segment's own domestic
  /// share at the start where `segment_domestic_share` gives one. The segments without one must
  /// be able to take the rest of the cell's domestic supply.
  void read_demand_segments(const Node& root) {
    const Node* table = Checker::value_of(root, "demand_segments");
    const Node* starts = Checker::value_of(root, "segment_domestic_share");
    if (table == nullptr) {
      if (starts != nullptr) {
        check_.error("missing-key", *starts, "segment_domestic_share",
                     "segment_domestic_share: no demand_segments to start, expected "
                     "demand_segments beside it");
      }
      return;
    }
    // Agent mode gives each segment of a cell its own firms: at least one each.
    if (spec_.mode == Mode::Agents &&
        static_cast<std::size_t>(spec_.agents.firms_per_cell) < spec_.segments.size()) {
      check_.error("conflicting-keys", *table, "demand_segments",
                   fmt::format("demand_segments: agents.firms_per_cell is {}, too few for {} "
                               "demand segments (each segment of a cell has its own firms), "
                               "expected at least {}",
                               spec_.agents.firms_per_cell, spec_.segments.size(),
                               spec_.segments.size()));
    }
    // Cells whose split is wrong: their starts are not checked again against it.
    std::set<std::size_t> bad_cells;
    read_segment_rows(*table, "demand_segments", [&](int buyer, int sector, const Node& row,
                                                     const std::string& row_path) {
      const std::size_t before = check_.diagnostics().size();
      std::vector<bool> given;
      const std::vector<double> shares =
          values(row, row_path, segments_, "segment", kUnitInterval, &given);
      const double sum = std::accumulate(shares.begin(), shares.end(), 0.0);
      if (check_.diagnostics().size() != before) {
        bad_cells.insert(spec_.cell_index(buyer, sector));
        return;
      }
      if (std::abs(sum - 1.0) > kShareTolerance) {
        bad_cells.insert(spec_.cell_index(buyer, sector));
        check_.error("shares-do-not-sum", row, row_path,
                     fmt::format("{}: segment shares sum to {:.10g}, expected 1 (within 1e-6)",
                                 row_path, sum));
        return;
      }
      for (std::size_t g = 0; g < shares.size(); ++g) {
        if (shares[g] > 0.0) {
          spec_.demand_segments.push_back(
              SegmentShare{buyer, sector, static_cast<SegmentId>(g), shares[g] / sum, -1.0});
        }
      }
    });
    std::sort(spec_.demand_segments.begin(), spec_.demand_segments.end(),
              [](const SegmentShare& a, const SegmentShare& b) {
                return std::tie(a.buyer, a.sector, a.segment) <
                       std::tie(b.buyer, b.sector, b.segment);
              });
    if (starts == nullptr) return;
    read_segment_rows(*starts, "segment_domestic_share", [&](int buyer, int sector,
                                                             const Node& row,
                                                             const std::string& row_path) {
      std::vector<bool> given;
      const std::size_t before = check_.diagnostics().size();
      const std::vector<double> start =
          values(row, row_path, segments_, "segment", kUnitInterval, &given);
      if (check_.diagnostics().size() != before ||
          bad_cells.count(spec_.cell_index(buyer, sector)) != 0) {
        return;
      }
      const auto cell_rows = std::equal_range(
          spec_.demand_segments.begin(), spec_.demand_segments.end(),
          SegmentShare{buyer, sector, 0, 0.0, -1.0},
          [](const SegmentShare& a, const SegmentShare& b) {
            return std::tie(a.buyer, a.sector) < std::tie(b.buyer, b.sector);
          });
      double given_mass = 0.0;
      double rest_weight = 0.0;
      for (std::size_t g = 0; g < given.size(); ++g) {
        if (!given[g]) continue;
        const auto found = std::find_if(cell_rows.first, cell_rows.second,
                                        [&](const SegmentShare& x) { return x.segment == static_cast<int>(g); });
        if (found == cell_rows.second) {
          check_.error("unknown-reference", row, join_path(row_path, spec_.segments[g].id),
                       fmt::format("{}: segment '{}' has no share of this demand in "
                                   "demand_segments, expected one of its segments",
                                   join_path(row_path, spec_.segments[g].id),
                                   spec_.segments[g].id));
          continue;
        }
        found->start_domestic = start[g];
      }
      for (auto it = cell_rows.first; it != cell_rows.second; ++it) {
        if (it->start_domestic >= 0.0) {
          given_mass += it->share * it->start_domestic;
        } else {
          rest_weight += it->share;
        }
      }
      const double domestic = spec_.supply[spec_.supply_index(buyer, sector, buyer)];
      const double rest = rest_weight > 0.0 ? (domestic - given_mass) / rest_weight : 0.0;
      const bool fits = rest_weight > 0.0 ? rest >= -kShareTolerance && rest <= 1.0 + kShareTolerance
                                          : std::abs(given_mass - domestic) <= kShareTolerance;
      if (!fits) {
        check_.error("shares-do-not-sum", row, row_path,
                     fmt::format("{}: the segments' domestic shares weighted by their demand give "
                                 "{:.10g}{}, expected the cell's domestic share {:.10g}",
                                 row_path, given_mass,
                                 rest_weight > 0.0
                                     ? fmt::format(" and leave {:.10g} for the others", rest)
                                     : std::string(),
                                 domestic));
      }
    });
  }

  /// Calls fn(buyer, sector, row, row path) for each buyer -> sector row of a segment table.
  template <class Fn>
  void read_segment_rows(const Node& table, std::string_view name, Fn&& fn) {
    for_entries(table, name, [&](const MapEntry& buyer_entry, const std::string& buyer_path) {
      const auto buyer =
          lookup(countries_, buyer_entry.key, buyer_entry.key_loc, buyer_path, "country");
      for_entries(*buyer_entry.value, buyer_path, [&](const MapEntry& sector_entry,
                                                      const std::string& row_path) {
        const auto sector = lookup(sectors_, sector_entry.key, sector_entry.key_loc, row_path,
                                   "sector");
        if (!buyer || !sector) return;
        fn(*buyer, *sector, *sector_entry.value, row_path);
      });
    });
  }

  // ---- trade structure: production sites, shipping, routes -----------------------------------

  void read_routes(const Node& root) {
    const Node* routes = Checker::value_of(root, "routes");
    if (routes == nullptr || !check_.expect_map(*routes, "routes")) return;
    check_.check_keys(*routes, kRoutesObject, "routes");
    const int mps = spec_.time.months_per_step;
    RouteSpec& spec = spec_.routes;
    spec.dispersion = check_.field_number(*routes, kRoutesObject, "dispersion", "routes", mps);
    spec.initial_hub_capacity =
        check_.field_number(*routes, kRoutesObject, "initial_hub_capacity", "routes", mps);
    spec.broker_growth = check_.field_number(*routes, kRoutesObject, "broker_growth", "routes", mps);
    read_source_field(*routes, "routes");
  }

  /// sector -> brand -> site -> share. Each row must sum to 1 (share_row).
  void read_production_sites(const Node& root) {
    const Node* table = Checker::value_of(root, "production_sites");
    if (table == nullptr) return;
    for_entries(*table, "production_sites", [&](const MapEntry& sector_entry,
                                               const std::string& sector_path) {
      const auto sector = lookup(sectors_, sector_entry.key, sector_entry.key_loc, sector_path,
                                 "sector");
      for_entries(*sector_entry.value, sector_path, [&](const MapEntry& brand_entry,
                                                        const std::string& row_path) {
        const auto brand =
            lookup(countries_, brand_entry.key, brand_entry.key_loc, row_path, "country");
        const std::vector<double> row = share_row(*brand_entry.value, row_path);
        if (!sector || !brand || row.empty()) return;
        for (std::size_t site = 0; site < row.size(); ++site) {
          if (row[site] > 0.0) {
            spec_.production_sites.push_back(
                SiteShare{*sector, *brand, static_cast<CountryId>(site), row[site]});
          }
        }
      });
    });
    std::sort(spec_.production_sites.begin(), spec_.production_sites.end(),
              [](const SiteShare& a, const SiteShare& b) {
                return std::tie(a.sector, a.brand, a.site) < std::tie(b.sector, b.brand, b.site);
              });
  }

  /// buyer -> sector -> site -> shipper -> share. Each row must sum to 1 (share_row).
  void read_shipping(const Node& root) {
    const Node* table = Checker::value_of(root, "shipping");
    if (table == nullptr) return;
    for_entries(*table, "shipping", [&](const MapEntry& buyer_entry,
                                        const std::string& buyer_path) {
      const auto buyer =
          lookup(countries_, buyer_entry.key, buyer_entry.key_loc, buyer_path, "country");
      for_entries(*buyer_entry.value, buyer_path, [&](const MapEntry& sector_entry,
                                                      const std::string& sector_path) {
        const auto sector = lookup(sectors_, sector_entry.key, sector_entry.key_loc, sector_path,
                                   "sector");
        for_entries(*sector_entry.value, sector_path, [&](const MapEntry& site_entry,
                                                          const std::string& row_path) {
          const auto site =
              lookup(countries_, site_entry.key, site_entry.key_loc, row_path, "country");
          const std::vector<double> row = share_row(*site_entry.value, row_path);
          if (!buyer || !sector || !site || row.empty()) return;
          if (row[static_cast<std::size_t>(*buyer)] > 0.0) {
            check_.error("out-of-range", *site_entry.value, row_path,
                         fmt::format("{}: the buyer '{}' cannot ship to itself, expected a share "
                                     "of 0 for it",
                                     row_path, buyer_entry.key));
            return;
          }
          for (std::size_t shipper = 0; shipper < row.size(); ++shipper) {
            if (row[shipper] > 0.0) {
              spec_.shipping.push_back(ShippingShare{*buyer, *sector, *site,
                                                     static_cast<CountryId>(shipper),
                                                     row[shipper]});
            }
          }
        });
      });
    });
    std::sort(spec_.shipping.begin(), spec_.shipping.end(),
              [](const ShippingShare& a, const ShippingShare& b) {
                return std::tie(a.buyer, a.sector, a.site, a.shipper) <
                       std::tie(b.buyer, b.sector, b.site, b.shipper);
              });
  }

  // ---- supply and the other tables ----------------------------------------------------------

  void read_supply(const Node& root) {
    const std::size_t c_count = spec_.countries.size();
    const std::size_t s_count = spec_.sectors.size();
    spec_.supply.assign(c_count * s_count * c_count, 0.0);
    std::vector<bool> given(c_count * s_count, false);
    if (const Node* supply = Checker::value_of(root, "supply")) {
      if (check_.expect_map(*supply, "supply")) {
        for (const MapEntry& buyer_entry : supply->entries) {
          const std::string buyer_path = join_path("supply", buyer_entry.key);
          if (buyer_entry.key == "source") {
            check_.source(*buyer_entry.value, buyer_path);
            continue;
          }
          if (buyer_entry.key == "note") continue;
          const auto buyer = lookup(countries_, buyer_entry.key, buyer_entry.key_loc, buyer_path,
                                    "country");
          if (!check_.expect_map(*buyer_entry.value, buyer_path)) continue;
          for (const MapEntry& sector_entry : buyer_entry.value->entries) {
            const std::string row_path = join_path(buyer_path, sector_entry.key);
            if (sector_entry.key == "source") {
              check_.source(*sector_entry.value, row_path);
              continue;
            }
            if (sector_entry.key == "note") continue;
            const auto sector_id = lookup(sectors_, sector_entry.key, sector_entry.key_loc,
                                          row_path, "sector");
            const std::vector<double> row = share_row(*sector_entry.value, row_path);
            if (!buyer || !sector_id) continue;
            given[spec_.cell_index(*buyer, *sector_id)] = true;
            if (!row.empty()) set_supply_row(*buyer, *sector_id, row);
          }
        }
      }
    }
    if (csv_supply_ != nullptr) {
      csv_supply_ok_ = read_csv_supply(*csv_supply_, given);
      if (!csv_supply_ok_) return;
    }
    fill_world_supply(root, given);
  }

  /// The rows of a supply table kept out of the tree, into spec_.supply: the same numbers as
  /// share_row over the tree's maps, with no node, path or message built per cell. False, having
  /// reported nothing, as soon as a row is one the tree's checks would report or treat specially
  /// (an unknown id, `source` or `note` as an id, a value that is not a share, a row that does not
  /// sum to 1).
  bool read_csv_supply(const SupplyTable& table, std::vector<bool>& given) {
    const auto id_of = [](const std::map<std::string, int>& ids, std::string_view text) {
      if (text == "source" || text == "note") return -1;
      const auto found = ids.find(std::string(text));
      return found == ids.end() ? -1 : found->second;
    };
    std::vector<int> origin_country(table.origins.size());
    for (std::size_t o = 0; o < table.origins.size(); ++o) {
      origin_country[o] = id_of(countries_, table.origins[o]);
    }
    const std::size_t c_count = spec_.countries.size();
    for (const SupplyTable::Group& group : table.groups) {
      const int buyer = id_of(countries_, group.buyer.text);
      const int sector = id_of(sectors_, group.sector.text);
      if (buyer < 0 || sector < 0) return false;
      double* const shares = spec_.supply.data() + spec_.supply_index(buyer, sector, 0);
      for (std::size_t r = group.begin; r < group.end; ++r) {
        const SupplyTable::Row& row = table.rows[r];
        const int origin = origin_country[row.origin];
        double value = 0.0;
        if (origin < 0 || !parse_double(row.share.text, value) || !kUnitInterval.contains(value)) {
          return false;
        }
        shares[origin] = value;
      }
      // Summed over all origins in id order, as share_row sums its dense row.
      const double sum = std::accumulate(shares, shares + c_count, 0.0);
      if (std::abs(sum - 1.0) > kShareTolerance) return false;
      for (double* share = shares; share != shares + c_count; ++share) *share /= sum;
      given[spec_.cell_index(buyer, sector)] = true;
    }
    return true;
  }

  void set_supply_row(int buyer, int sector_id, const std::vector<double>& row) {
    for (std::size_t origin = 0; origin < row.size(); ++origin) {
      spec_.supply[spec_.supply_index(buyer, sector_id, static_cast<int>(origin))] = row[origin];
    }
  }

  void fill_world_supply(const Node& root, const std::vector<bool>& given) {
    const std::size_t countries_count = spec_.countries.size();
    spec_.world_supply.assign(spec_.sectors.size() * countries_count, 0.0);
    for (std::size_t s = 0; s < world_supply_.size(); ++s) {
      const std::vector<double>& world = world_supply_[s];
      if (world.size() == countries_count) {
        std::copy(world.begin(), world.end(),
                  spec_.world_supply.begin() + static_cast<std::ptrdiff_t>(s * countries_count));
      }
    }
    const Node* countries = Checker::value_of(root, "countries");
    const Node* sectors = Checker::value_of(root, "sectors");
    if (countries == nullptr || sectors == nullptr || !countries->is_map() || !sectors->is_map()) {
      return;
    }
    for (const MapEntry& country_entry : countries->entries) {
      const int buyer = countries_[country_entry.key];
      for (const MapEntry& sector_entry : sectors->entries) {
        const int sector_id = sectors_[sector_entry.key];
        if (given[spec_.cell_index(buyer, sector_id)]) continue;
        const std::vector<double>& world = world_supply_[static_cast<std::size_t>(sector_id)];
        if (!world.empty()) {
          set_supply_row(buyer, sector_id, world);
        } else if (!sector_entry.value->is_map() ||
                   Checker::value_of(*sector_entry.value, "world_supply") == nullptr) {
          const std::string path = join_path(join_path("supply", country_entry.key), sector_entry.key);
          check_.error("missing-supply", country_entry.key_loc, path,
                       fmt::format("{}: no supply row for buyer '{}' in sector '{}', and the "
                                   "sector has no world_supply",
                                   path, country_entry.key, sector_entry.key));
        }
      }
    }
  }

  /// country -> (sector or country) -> number into a dense table, starting from `fill`.
  void read_table(const Node& root, std::string_view key, std::vector<double>& table,
                  double fill, bool by_sector, std::vector<bool>* present = nullptr) {
    const std::size_t inner = by_sector ? spec_.sectors.size() : spec_.countries.size();
    table.assign(spec_.countries.size() * inner, fill);
    if (present != nullptr) present->assign(table.size(), false);
    const Node* map = Checker::value_of(root, key);
    if (map == nullptr || !check_.expect_map(*map, key)) return;
    const Range range = kScenarioObject.find(key)->range;
    for (const MapEntry& entry : map->entries) {
      const std::string path = join_path(key, entry.key);
      if (entry.key == "source") {
        check_.source(*entry.value, path);
        continue;
      }
      if (entry.key == "note") continue;
      const auto row = lookup(countries_, entry.key, entry.key_loc, path, "country");
      std::vector<bool> given;
      const std::vector<double> cells =
          by_sector ? values(*entry.value, path, sectors_, "sector", range, &given)
                    : values(*entry.value, path, countries_, "country", range, &given);
      if (!row) continue;
      for (std::size_t i = 0; i < inner; ++i) {
        if (!given[i]) continue;
        const std::size_t index = static_cast<std::size_t>(*row) * inner + i;
        table[index] = cells[i];
        if (present != nullptr) (*present)[index] = true;
      }
    }
  }

  void read_tables(const Node& root) {
    std::vector<bool> capability_given;
    read_table(root, "capability", spec_.capability, 0.0, true, &capability_given);
    read_table(root, "prices", spec_.price, 1.0, true);
    read_table(root, "trade_costs", spec_.trade_cost, 1.0, false);
    read_table(root, "distrust", spec_.distrust, 0.0, false);
    for (int c = 0; c < spec_.country_count(); ++c) {
      for (int s = 0; s < spec_.sector_count(); ++s) {
        const std::size_t cell = spec_.cell_index(c, s);
        const double domestic = spec_.supply[spec_.supply_index(c, s, c)];
        if (!capability_given[cell]) {
          spec_.capability[cell] = domestic;
        } else if (spec_.capability[cell] < domestic - 1e-12) {
          const Node* node = capability_cell(root, c, s);
          const std::string path = fmt::format("capability.{}.{}", spec_.countries[static_cast<std::size_t>(c)].id,
                                               spec_.sectors[static_cast<std::size_t>(s)].id);
          check_.error("capability-below-share", node != nullptr ? node->loc : Loc{}, path,
                       fmt::format("{}: capability {:.10g} is below the initial domestic share "
                                   "{:.10g}, expected at least the domestic share",
                                   path, spec_.capability[cell], domestic));
        }
      }
    }
  }

  const Node* capability_cell(const Node& root, int c, int s) const {
    const Node* table = Checker::value_of(root, "capability");
    const Node* row = table ? table->get(spec_.countries[static_cast<std::size_t>(c)].id) : nullptr;
    const Node* cell = row ? row->get(spec_.sectors[static_cast<std::size_t>(s)].id) : nullptr;
    if (cell != nullptr && cell->is_map() && cell->get("value") != nullptr) return cell->get("value");
    return cell;
  }

  // ---- events -------------------------------------------------------------------------------

  void read_events(const Node& root) {
    const Node* events = Checker::value_of(root, "events");
    if (events == nullptr || !check_.expect_list(*events, "events")) return;
    // First pass: ids, so that a `lift` may name an event listed after it.
    for (std::size_t i = 0; i < events->items.size(); ++i) {
      const Node& item = *events->items[i];
      const Node* id = item.is_map() ? Checker::value_of(item, "id") : nullptr;
      if (id == nullptr || !id->is_scalar()) continue;
      const std::string path = join_path(index_path("events", i), "id");
      if (events_.count(id->text) > 0) {
        check_.error("duplicate-id", *id, path,
                     fmt::format("{}: duplicate event id '{}' (first used by events[{}])", path,
                                 id->text, events_[id->text]));
        continue;
      }
      events_[id->text] = static_cast<int>(i);
    }
    for (std::size_t i = 0; i < events->items.size(); ++i) {
      const std::string path = index_path("events", i);
      const Node& item = *events->items[i];
      if (!check_.expect_map(item, path)) continue;
      EventSpec event;
      if (const Node* id = Checker::value_of(item, "id")) {
        event.id = check_.text(*id, join_path(path, "id")).value_or("");
      }
      const EventTypeSpec* type = event_type(item, path, event);
      if (type == nullptr) {
        check_.check_keys(item, kAnyEventObject, path, true);
        continue;
      }
      check_.check_keys(item, *type->object, path);
      read_event_timing(item, path, event);
      if (const Node* source = Checker::value_of(item, "source")) {
        event.source = check_.source(*source, join_path(path, "source")).value_or("");
      }
      read_event_fields(item, *type->object, path, event);
      if (event.type == EventType::Lift && event.lifted_event == static_cast<int>(i)) {
        check_.error("unknown-reference", *item.get("event"), join_path(path, "event"),
                     fmt::format("{}.event: an event cannot lift itself", path));
      }
      spec_.events.push_back(event);
    }
  }

  const EventTypeSpec* event_type(const Node& item, std::string_view path, EventSpec& event) {
    const Node* type_node = Checker::value_of(item, "type");
    if (type_node == nullptr) return nullptr;  // check_keys reports the missing key
    const std::string type_path = join_path(path, "type");
    const auto text = check_.text(*type_node, type_path);
    if (!text) return nullptr;
    const EventTypeSpec* type = find_event_type(*text);
    if (type == nullptr) {
      check_.error("unknown-event-type", *type_node, type_path,
                   fmt::format("{}: unknown event type '{}'{}", type_path, *text,
                               did_you_mean(*text, event_type_names())));
      return nullptr;
    }
    event.type = static_cast<EventType>(type - kEventTypes.data());
    return type;
  }

  void read_event_timing(const Node& item, std::string_view path, EventSpec& event) {
    const int steps = spec_.time.steps;
    const Node* at = Checker::value_of(item, "at");
    const Node* until = Checker::value_of(item, "until");
    const Node* end = Checker::value_of(item, "end");
    std::optional<int> at_step;
    if (at != nullptr) at_step = read_step(*at, join_path(path, "at"), steps - 1);
    if (at_step) event.at_step = *at_step;
    if (until != nullptr) {
      const std::string until_path = join_path(path, "until");
      const auto step = read_step(*until, until_path, steps);
      if (step && at_step && *step < *at_step) {
        check_.error("until-before-at", *until, until_path,
                     fmt::format("{}: {} is before at ({}), expected a ramp end at or after the "
                                 "start",
                                 until_path, until->text, at->text));
      } else if (step) {
        event.until_step = *step;
      }
    }
    if (end != nullptr) {
      const std::string end_path = join_path(path, "end");
      const auto step = read_step(*end, end_path, steps);
      if (step && at_step && *step <= *at_step) {
        check_.error("end-before-at", *end, end_path,
                     fmt::format("{}: {} is not after at ({}), expected an end later than the "
                                 "start",
                                 end_path, end->text, at->text));
      } else if (step) {
        event.end_step = *step;
        if (event.until_step > event.end_step) {
          check_.error("end-before-at", *end, end_path,
                       fmt::format("{}: {} is before until ({}), expected the ramp to finish "
                                   "before the end",
                                   end_path, end->text, until->text));
        }
      }
    }
  }

  void read_event_fields(const Node& item, const ObjectSpec& object, std::string_view path,
                         EventSpec& event) {
    const int mps = spec_.time.months_per_step;
    for (const FieldSpec& field : object.specific) {
      const Node* value = Checker::value_of(item, field.key);
      const std::string field_path = join_path(path, field.key);
      switch (field.type) {
        case FieldType::CountryList:
          if (value == nullptr) break;
          if (field.key == "suppliers") {
            event.threatened = country_list(*value, field_path);
          } else {
            (fills_from(field.key) ? event.from : event.to) = country_list(*value, field_path);
          }
          break;
        case FieldType::SectorList:
          if (value != nullptr) event.sectors = sector_list(*value, field_path);
          break;
        case FieldType::SegmentList:
          if (value != nullptr) event.segments = segment_list(*value, field_path);
          break;
        case FieldType::CountryValues:
          if (value == nullptr) break;
          if (field.key == "site_enforcement") {
            std::vector<bool> given;
            event.site_enforcement =
                values(*value, field_path, countries_, "country", field.range, &given);
            for (std::size_t c = 0; c < given.size(); ++c) {
              if (!given[c]) event.site_enforcement[c] = 1.0;
            }
          } else {
            event.destinations = weights(*value, field_path, countries_, "country", false);
          }
          break;
        case FieldType::Choice:
          if (field.key == "applies_to") event.scope = scope_of(event.type, value, field, field_path);
          break;
        case FieldType::EventRef:
          if (value != nullptr) {
            event.lifted_event = lookup(events_, *value, field_path, "event").value_or(-1);
          }
          break;
        case FieldType::ParamPath:
          if (value != nullptr) read_set(item, *value, field_path, event);
          break;
        case FieldType::Number:
          if (field.key == "value") break;  // read with the path, whose range it takes
          for (const NumberSlot& slot : kEventNumbers) {
            if (slot.key == field.key) {
              event.*slot.member = check_.field_number(item, object, field.key, path, mps);
            }
          }
          break;
        default:
          break;
      }
    }
  }

  /// The scope an event's `applies_to` names, or its type's default when absent.
  RestrictionScope scope_of(EventType type, const Node* value, const FieldSpec& field,
                            const std::string& path) {
    std::optional<std::string> text;
    if (value != nullptr) text = check_.choice(*value, path, field.choices);
    if (text == "brand") return RestrictionScope::Brand;
    if (text == "territory") return RestrictionScope::Territory;
    if (text == "all") return RestrictionScope::All;
    if (text == "site") return RestrictionScope::Site;
    if (text == "shipper") return RestrictionScope::Shipper;
    switch (type) {
      case EventType::ImportBan: return RestrictionScope::Brand;
      case EventType::Enforcement: return RestrictionScope::Shipper;
      default: return RestrictionScope::All;
    }
  }

  /// Resolves the path of a `set` event and reads its value with the parameter's range.
  void read_set(const Node& item, const Node& path_node, std::string_view path, EventSpec& event) {
    const auto text = check_.text(path_node, path);
    if (!text) return;
    std::vector<std::string> parts;
    std::size_t begin = 0;
    while (true) {
      const std::size_t dot = text->find('.', begin);
      parts.push_back(text->substr(begin, dot - begin));
      if (dot == std::string::npos) break;
      begin = dot + 1;
    }
    const FieldSpec* field = nullptr;
    ParamRef ref;
    bool ok = false;
    auto unknown = [&](const std::string& what, const std::vector<std::string>& candidates) {
      check_.error("unknown-parameter", path_node, path,
                   fmt::format("{}: unknown parameter path '{}': {}{}", path, *text, what,
                               did_you_mean(parts.back(), candidates)));
    };
    auto param = [&](auto table, const ObjectSpec& object) {
      std::vector<std::string> keys;
      for (const SetTarget& target : table) {
        keys.emplace_back(target.key);
        if (target.key == parts[2]) {
          ref.kind = target.kind;
          field = object.find(target.key);
        }
      }
      if (field == nullptr) unknown(fmt::format("no parameter '{}'", parts[2]), keys);
      return field != nullptr;
    };
    if (parts.size() == 1 && parts[0] == "reroute_markup") {
      ref.kind = ParamRef::Kind::RerouteMarkup;
      field = kScenarioObject.find("reroute_markup");
      ok = true;
    } else if (parts.size() == 3 && parts[0] == "sectors") {
      const auto id = lookup(sectors_, parts[1], path_node.loc, path, "sector");
      ref.sector = id.value_or(-1);
      ok = id && param(kSectorParams, kSectorObject);
    } else if (parts.size() == 3 && parts[0] == "countries") {
      const auto id = lookup(countries_, parts[1], path_node.loc, path, "country");
      ref.country = id.value_or(-1);
      ok = id && param(kCountryParams, kCountryObject);
    } else if (parts.size() == 3 && parts[0] == "prices") {
      ref.kind = ParamRef::Kind::Price;
      const auto k = lookup(countries_, parts[1], path_node.loc, path, "country");
      const auto s = lookup(sectors_, parts[2], path_node.loc, path, "sector");
      ref.country = k.value_or(-1);
      ref.sector = s.value_or(-1);
      field = kScenarioObject.find("prices");
      ok = k && s;
    } else if (parts.size() == 3 && parts[0] == "trade_costs") {
      ref.kind = ParamRef::Kind::TradeCost;
      const auto k = lookup(countries_, parts[1], path_node.loc, path, "country");
      const auto c = lookup(countries_, parts[2], path_node.loc, path, "country");
      ref.country = k.value_or(-1);
      ref.partner = c.value_or(-1);
      field = kScenarioObject.find("trade_costs");
      ok = k && c;
    } else {
      unknown("expected sectors.<id>.<param>, countries.<id>.<param>, prices.<k>.<s>, "
              "trade_costs.<k>.<c> or reroute_markup",
              {"sectors", "countries", "prices", "trade_costs", "reroute_markup"});
    }
    if (!ok) return;
    event.parameter = ref;
    if (const Node* value = Checker::value_of(item, "value")) {
      const auto number = check_.number(*value, fmt::format("{}.value", path.substr(0, path.rfind('.'))),
                                        field->range);
      if (number) {
        event.value = field->per_month ? per_step(*number, spec_.time.months_per_step) : *number;
      }
    }
  }

  // ---- rules, observations, outputs ---------------------------------------------------------

  /// Metric and its indices, shared by rule conditions and observations.
  struct MetricTarget {
    Metric metric = Metric::Shortage;
    int country = -1;
    int sector = -1;
    int partner = -1;
    int bloc = -1;
  };

  std::optional<Metric> metric(const Node& node, std::string_view path) {
    const auto text = check_.text(node, path);
    if (!text) return std::nullopt;
    if (const auto found = find_metric(*text)) return found;
    std::vector<std::string> known;
    for (const MetricInfo& info : kMetricCatalogue) known.emplace_back(info.name);
    check_.error("unknown-metric", node, path,
                 fmt::format("{}: unknown metric '{}'{}", path, *text, did_you_mean(*text, known)));
    return std::nullopt;
  }

  std::optional<MetricTarget> metric_target(const Node& map, std::string_view path) {
    MetricTarget target;
    const Node* metric_node = Checker::value_of(map, "metric");
    if (metric_node == nullptr) return std::nullopt;
    const auto found = metric(*metric_node, join_path(path, "metric"));
    if (!found) return std::nullopt;
    target.metric = *found;
    const MetricShape shape = metric_info(*found).shape;
    if (const Node* node = Checker::value_of(map, "country")) {
      target.country = country(*node, join_path(path, "country")).value_or(-1);
    }
    if (const Node* node = Checker::value_of(map, "sector")) {
      if (shape == MetricShape::Country || shape == MetricShape::CountryPartner) {
        check_.error("conflicting-keys", *node, join_path(path, "sector"),
                     fmt::format("{}.sector: metric '{}' is per country and takes no sector", path,
                                 metric_info(*found).name));
      } else {
        target.sector = sector(*node, join_path(path, "sector")).value_or(-1);
      }
    }
    auto need = [&](std::string_view key, bool wanted, int& slot,
                    const std::map<std::string, int>& ids, std::string_view what) {
      const Node* node = Checker::value_of(map, key);
      if (wanted && node == nullptr) {
        check_.error("missing-key", map, path,
                     fmt::format("{}: metric '{}' needs '{}'", path, metric_info(*found).name, key));
      } else if (!wanted && node != nullptr) {
        check_.error("conflicting-keys", *node, join_path(path, key),
                     fmt::format("{}.{}: metric '{}' takes no {}", path, key,
                                 metric_info(*found).name, key));
      } else if (node != nullptr) {
        slot = lookup(ids, *node, join_path(path, key), what).value_or(-1);
      }
    };
    // A partner metric of a cell may name a bloc instead of a partner: the sum over its members
    // (China and Hong Kong together, as customs reports often do).
    const bool partner_by_bloc = shape == MetricShape::CountrySectorPartner &&
                                 Checker::value_of(map, "partner") == nullptr &&
                                 Checker::value_of(map, "bloc") != nullptr;
    need("partner",
         (shape == MetricShape::CountrySectorPartner && !partner_by_bloc) ||
             shape == MetricShape::CountryPartner,
         target.partner, countries_,
         "country");
    need("bloc", shape == MetricShape::CountrySectorBloc || partner_by_bloc, target.bloc, blocs_,
         "bloc");
    return target;
  }

  void read_rules(const Node& root) {
    const Node* rules = Checker::value_of(root, "rules");
    if (rules == nullptr || !check_.expect_list(*rules, "rules")) return;
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < rules->items.size(); ++i) {
      const std::string path = index_path("rules", i);
      const Node& item = *rules->items[i];
      if (!check_.expect_map(item, path)) continue;
      check_.check_keys(item, kRuleObject, path);
      RuleSpec rule;
      if (const Node* id = Checker::value_of(item, "id")) {
        rule.id = check_.text(*id, join_path(path, "id")).value_or("");
        if (!seen.emplace(rule.id, i).second) {
          check_.error("duplicate-id", *id, join_path(path, "id"),
                       fmt::format("{}.id: duplicate rule id '{}' (first used by rules[{}])", path,
                                   rule.id, seen[rule.id]));
        }
      }
      if (const Node* source = Checker::value_of(item, "source")) {
        rule.source = check_.source(*source, join_path(path, "source")).value_or("");
      }
      read_rule_when(item, path, rule);
      read_rule_then(item, path, rule);
      read_rule_repeat(item, path, rule);
      spec_.rules.push_back(rule);
    }
  }

  void read_rule_when(const Node& item, std::string_view path, RuleSpec& rule) {
    const Node* when = Checker::value_of(item, "when");
    const std::string when_path = join_path(path, "when");
    if (when == nullptr || !check_.expect_map(*when, when_path)) return;
    check_.check_keys(*when, kWhenObject, when_path);
    if (const auto target = metric_target(*when, when_path)) {
      rule.metric = target->metric;
      rule.country = target->country;
      rule.sector = target->sector;
      rule.partner = target->partner;
      rule.bloc = target->bloc;
    }
    const Node* above = Checker::value_of(*when, "above");
    const Node* below = Checker::value_of(*when, "below");
    if (above != nullptr && below != nullptr) {
      check_.error("conflicting-keys", *below, join_path(when_path, "below"),
                   fmt::format("{}: give either 'above' or 'below', not both", when_path));
    } else if (above == nullptr && below == nullptr) {
      check_.error("missing-key", *when, when_path,
                   fmt::format("{}: missing required key 'above' or 'below'", when_path));
    } else {
      const Node& threshold = above != nullptr ? *above : *below;
      rule.comparison = above != nullptr ? RuleComparison::Above : RuleComparison::Below;
      rule.threshold = check_.number(threshold, join_path(when_path, above ? "above" : "below"),
                                     kAnyNumber)
                           .value_or(0.0);
    }
  }

  /// Months to steps, rounding up so that a short delay is never dropped.
  int months_to_steps(std::int64_t months) const {
    const int mps = spec_.time.months_per_step;
    return static_cast<int>((months + mps - 1) / mps);
  }

  void read_rule_then(const Node& item, std::string_view path, RuleSpec& rule) {
    const Node* then = Checker::value_of(item, "then");
    const std::string then_path = join_path(path, "then");
    if (then == nullptr || !check_.expect_map(*then, then_path)) return;
    rule.then.id = rule.id;
    rule.then.source = rule.source;
    const EventTypeSpec* type = event_type(*then, then_path, rule.then);
    if (type == nullptr) {
      check_.check_keys(*then, kAnyThenObject, then_path, true);
      return;
    }
    check_.check_keys(*then, *type->rule_object, then_path);
    rule.then.at_step = 0;
    if (const Node* ramp = Checker::value_of(*then, "ramp")) {
      const auto months = check_.integer(*ramp, join_path(then_path, "ramp"), kNonNegative);
      if (months && *months > 0) rule.then.until_step = months_to_steps(*months);
    }
    if (const Node* duration = Checker::value_of(*then, "duration")) {
      const auto months = check_.integer(*duration, join_path(then_path, "duration"), kNonNegative);
      if (months && *months > 0) rule.then.end_step = months_to_steps(*months);
    }
    read_event_fields(*then, *type->rule_object, then_path, rule.then);
  }

  void read_rule_repeat(const Node& item, std::string_view path, RuleSpec& rule) {
    const Node* once = Checker::value_of(item, "once");
    const Node* cooldown = Checker::value_of(item, "cooldown");
    if (once != nullptr) rule.once = check_.boolean(*once, join_path(path, "once")).value_or(true);
    if (cooldown != nullptr) {
      if (once != nullptr && rule.once) {
        check_.error("conflicting-keys", *cooldown, join_path(path, "cooldown"),
                     fmt::format("{}: 'cooldown' needs once: false", path));
      }
      const auto months = check_.integer(*cooldown, join_path(path, "cooldown"), kNonNegative);
      rule.once = false;
      rule.cooldown_steps = months ? months_to_steps(*months) : 0;
    }
  }

  // An observation of one demand segment: a per-segment metric of a sector whose buyer has that
  // segment in its demand_segments row.
  int observed_segment(const Node& node, const std::string& path, const MetricTarget& target) {
    const auto id = lookup(segments_, node, path, "segment");
    if (!id) return -1;
    if (!per_segment(target.metric)) {
      check_.error("conflicting-keys", node, path,
                   fmt::format("{}: metric '{}' is not written per segment, expected one of {}",
                               path, metric_info(target.metric).name, kPerSegmentMetricNames));
      return -1;
    }
    if (target.country >= 0 && !spec_.splits_into(target.country, target.sector, *id)) {
      check_.error("unknown-reference", node, path,
                   fmt::format("{}: '{}' is not a demand segment of {}'s {} (demand_segments)",
                               path, node.text, spec_.countries[target.country].id,
                               target.sector >= 0 ? spec_.sectors[target.sector].id
                                                  : std::string("sector-weighted mean")));
      return -1;
    }
    return *id;
  }

  void read_observations(const Node& root) {
    const Node* observations = Checker::value_of(root, "observations");
    if (observations == nullptr || !check_.expect_list(*observations, "observations")) return;
    for (std::size_t i = 0; i < observations->items.size(); ++i) {
      const std::string path = index_path("observations", i);
      const Node& item = *observations->items[i];
      if (!check_.expect_map(item, path)) continue;
      check_.check_keys(item, kObservationObject, path);
      ObservationSpec observation;
      if (const Node* fact = Checker::value_of(item, "fact")) {
        if (auto id = check_.text(*fact, join_path(path, "fact"))) {
          check_.check_fact(*id, *fact, join_path(path, "fact"));
          observation.fact = *id;
        }
      }
      if (const auto target = metric_target(item, path)) {
        observation.metric = target->metric;
        observation.country = target->country;
        observation.sector = target->sector;
        observation.partner = target->partner;
        observation.bloc = target->bloc;
        if (const Node* segment = Checker::value_of(item, "segment")) {
          observation.segment = observed_segment(*segment, join_path(path, "segment"), *target);
        }
      }
      if (const Node* date = Checker::value_of(item, "date")) {
        observation.step = read_step(*date, join_path(path, "date"), spec_.time.steps).value_or(0);
        observation.date = date->text;
      }
      if (const Node* value = Checker::value_of(item, "value")) {
        observation.value = check_.number(*value, join_path(path, "value"), kAnyNumber).value_or(0);
      }
      observation.tolerance = check_.field_number(item, kObservationObject, "tolerance", path, 1);
      spec_.observations.push_back(observation);
    }
  }

  void read_outputs(const Node& root) {
    const Node* outputs = Checker::value_of(root, "outputs");
    if (outputs == nullptr || !check_.expect_map(*outputs, "outputs")) return;
    check_.check_keys(*outputs, kOutputsObject, "outputs");
    OutputSpec& spec = spec_.outputs;
    if (const Node* metrics = Checker::value_of(*outputs, "metrics")) {
      if (check_.expect_list(*metrics, "outputs.metrics")) {
        for (std::size_t i = 0; i < metrics->items.size(); ++i) {
          const auto found = metric(*metrics->items[i], index_path("outputs.metrics", i));
          if (found && std::find(spec.metrics.begin(), spec.metrics.end(), *found) == spec.metrics.end()) {
            spec.metrics.push_back(*found);
          }
        }
      }
    }
    if (const Node* countries = Checker::value_of(*outputs, "countries")) {
      spec.countries = country_list(*countries, "outputs.countries");
    }
    if (const Node* sectors = Checker::value_of(*outputs, "sectors")) {
      spec.sectors = sector_list(*sectors, "outputs.sectors");
    }
    if (const Node* every = Checker::value_of(*outputs, "every")) {
      spec.every = static_cast<int>(
          check_.integer(*every, "outputs.every", kOutputsObject.find("every")->range).value_or(1));
    }
  }

  Checker& check_;
  const SupplyTable* csv_supply_ = nullptr;
  bool csv_supply_ok_ = true;
  ScenarioSpec spec_;
  bool time_ok_ = true;
  std::map<std::string, int> countries_;
  std::map<std::string, int> sectors_;
  std::map<std::string, int> blocs_;
  std::map<std::string, int> events_;
  std::map<std::string, int> segments_;
  std::vector<std::vector<double>> world_supply_;
};

}  // namespace

ScenarioSpec build_spec(const Node& root, Checker& checker) {
  return SpecBuilder(checker, nullptr).build(root);
}

std::optional<ScenarioSpec> build_spec(const Node& root, Checker& checker,
                                       const SupplyTable& supply) {
  SpecBuilder builder(checker, &supply);
  ScenarioSpec spec = builder.build(root);
  if (!builder.csv_supply_read()) return std::nullopt;
  return spec;
}

}  // namespace techdep::detail
