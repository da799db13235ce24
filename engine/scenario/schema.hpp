#pragma once
// The key tables of the scenario format: every key, its type, unit, default, range and meaning.
// Validation, the JSON Schema, the parameter catalogue and the override path check all read
// these tables, so they cannot drift apart. Private to engine/scenario.

#include <array>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace techdep::detail {

enum class FieldType {
  Number,       ///< a double; may be written {value, source, note}
  Integer,      ///< a whole number
  Seed,         ///< an unsigned 64-bit integer
  Text,         ///< free text
  Name,         ///< [a-z0-9][a-z0-9_-]*
  Id,           ///< an identifier string (event and rule ids, fact ids)
  Boolean,
  Date,         ///< YYYY-MM, YYYY-MM-DD or a step number
  StartDate,    ///< YYYY-MM
  Choice,       ///< one of `choices`
  Source,       ///< a fact id, a list of them, or `assumption`
  Path,         ///< a file path relative to the file that names it
  CountryList,  ///< a country or bloc id, or a list of them
  SectorList,   ///< a sector id or a list of them; omitted means every sector
  SegmentList,  ///< a demand segment id or a list of them; omitted means the whole demand
  BlocList,     ///< a list of bloc ids
  CountryRef,   ///< one country id
  SectorRef,    ///< one sector id
  SegmentRef,   ///< one demand segment id
  BlocRef,      ///< one bloc id
  EventRef,     ///< one event id
  FactRef,      ///< one fact id
  MetricName,
  MetricList,
  ParamPath,    ///< the path of a `set` event
  Scalar,       ///< any scalar (facts: figure, confidence)
  Object,       ///< a map with the keys of `object`
  ObjectList,   ///< a list of `object` maps
  IdMap,        ///< id -> `object` (countries, sectors)
  BlocMap,      ///< bloc id -> list of country ids
  CountryValues,  ///< country id -> number (with `range`), plus optional source/note
  SectorValues,   ///< sector id -> number (with `range`), plus optional source/note
  CountrySectorTable,   ///< country -> sector -> number
  CountryCountryTable,  ///< country -> country -> number
  SupplyTable,          ///< buyer -> sector -> origin -> share
  SiteTable,            ///< sector -> brand -> production site -> share
  ShippingTable,        ///< buyer -> sector -> site -> shipper -> share
  SegmentTable,         ///< buyer -> sector -> segment -> share
  NumberPair,           ///< [low, high]
  PathValues,           ///< `--set` path -> list of values (a sweep grid)
  PathValuesList,       ///< a list of maps `--set` path -> value (sweep cases)
};

/// A numeric range. Infinite bounds mean "no bound".
struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;
  bool not_one = false;

  bool contains(double value) const;
  std::string text() const;  ///< `[0, 1]`, `> 0, != 1`, `>= 0`
};

inline constexpr Range kAnyNumber{};
inline constexpr Range kNonNegative{.min = 0.0};
inline constexpr Range kPositive{.min = 0.0, .min_open = true};
inline constexpr Range kUnitInterval{.min = 0.0, .max = 1.0};
inline constexpr Range kHalfOpenUnit{.min = 0.0, .max = 1.0, .min_open = true};  // (0, 1]
inline constexpr Range kBelowOne{.min = 0.0, .max = 1.0, .max_open = true};      // [0, 1)
inline constexpr Range kAtLeastOne{.min = 1.0};
inline constexpr Range kElasticity{.min = 0.0, .min_open = true, .not_one = true};

struct ObjectSpec;

struct FieldSpec {
  std::string_view key;
  FieldType type = FieldType::Text;
  bool required = false;
  Range range = kAnyNumber;
  double default_value = 0.0;
  std::string_view default_text = {};  ///< as documented; empty: no default
  std::string_view unit = {};
  bool per_month = false;  ///< a monthly rate, converted to per step on load
  std::string_view meaning = {};
  std::string_view example = {};
  const ObjectSpec* object = nullptr;
  std::span<const std::string_view> choices = {};
};

/// The keys a map may hold: shared ones plus those of its kind (an event type).
struct ObjectSpec {
  std::string_view name;  ///< used in docs and the schema
  std::span<const FieldSpec> common;
  std::span<const FieldSpec> specific = {};

  const FieldSpec* find(std::string_view key) const;
  std::vector<std::string> keys() const;
};

struct EventTypeSpec {
  std::string_view type;
  std::string_view meaning = {};
  const ObjectSpec* object;       ///< as an event in `events`
  const ObjectSpec* rule_object;  ///< as the `then` of a rule (no id, at, until, end)
};

extern const ObjectSpec kScenarioObject;
extern const ObjectSpec kTimeObject;
extern const ObjectSpec kAgentsObject;
extern const ObjectSpec kCountryObject;
extern const ObjectSpec kSectorObject;
extern const ObjectSpec kSegmentObject;
extern const ObjectSpec kTablesObject;
extern const ObjectSpec kAnyEventObject;  ///< the union of every event type's keys
extern const ObjectSpec kRuleObject;
extern const ObjectSpec kWhenObject;
extern const ObjectSpec kAnyThenObject;
extern const ObjectSpec kObservationObject;
extern const ObjectSpec kOutputsObject;
extern const ObjectSpec kRoutesObject;
extern const ObjectSpec kValueObject;  ///< {value, source, note}
extern const ObjectSpec kFactsFileObject;
extern const ObjectSpec kFactObject;
extern const std::span<const EventTypeSpec> kEventTypes;

const EventTypeSpec* find_event_type(std::string_view type);
std::vector<std::string> event_type_names();

inline constexpr std::string_view kAssumption = "assumption";
inline constexpr int kSchemaVersion = 1;

}  // namespace techdep::detail
