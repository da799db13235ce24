#include <cmath>

#include <fmt/format.h>

#include "scenario/schema.hpp"

namespace techdep::detail {

bool Range::contains(double value) const {
  if (!std::isfinite(value)) return false;
  if (min_open ? value <= min : value < min) return false;
  if (max_open ? value >= max : value > max) return false;
  return !(not_one && value == 1.0);
}

std::string Range::text() const {
  const bool has_min = std::isfinite(min);
  const bool has_max = std::isfinite(max);
  std::string out;
  if (has_min && has_max) {
    out = fmt::format("{}{}, {}{}", min_open ? '(' : '[', min, max, max_open ? ')' : ']');
  } else if (has_min) {
    out = fmt::format("{} {}", min_open ? ">" : ">=", min);
  } else if (has_max) {
    out = fmt::format("{} {}", max_open ? "<" : "<=", max);
  } else {
    out = "any number";
  }
  if (not_one) out += ", != 1";
  return out;
}

const FieldSpec* ObjectSpec::find(std::string_view key) const {
  for (const FieldSpec& field : common) {
    if (field.key == key) return &field;
  }
  for (const FieldSpec& field : specific) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

std::vector<std::string> ObjectSpec::keys() const {
  std::vector<std::string> out;
  for (const FieldSpec& field : common) out.emplace_back(field.key);
  for (const FieldSpec& field : specific) out.emplace_back(field.key);
  return out;
}

namespace {

using F = FieldType;

constexpr std::array<std::string_view, 3> kStepChoices{"month", "quarter", "year"};
constexpr std::array<std::string_view, 2> kModeChoices{"aggregate", "agents"};
constexpr std::array<std::string_view, 3> kControlScopes{"all", "brand", "territory"};
constexpr std::array<std::string_view, 3> kBanScopes{"brand", "site", "shipper"};
constexpr std::array<std::string_view, 2> kEnforcementScopes{"shipper", "site"};
constexpr std::array<std::string_view, 5> kAnyScopes{"all", "brand", "territory", "site",
                                                     "shipper"};
// The union of every event type's `applies_to`, for the schema of an event of any type (each type
// checks its own choices).
constexpr FieldSpec kAnyAppliesTo{.key = "applies_to", .type = F::Choice,
                                  .meaning = "what the event's countries name: export_control "
                                             "all | brand | territory; import_ban brand | site | "
                                             "shipper; enforcement shipper | site",
                                  .example = "brand", .choices = kAnyScopes};

constexpr FieldSpec kSourceField{.key = "source", .type = F::Source,
    .meaning = "a fact id of the facts file, a list of them, or `assumption`",
    .example = "TR23"};
constexpr FieldSpec kRequiredSource{.key = "source", .type = F::Source, .required = true,
    .meaning = "a fact id of the facts file, a list of them, or `assumption`",
    .example = "TR23"};
constexpr FieldSpec kNoteField{.key = "note", .type = F::Text, .meaning = "free text",
    .example = "why this number"};

constexpr std::array kValueFields{
    FieldSpec{.key = "value", .type = F::Number, .required = true,
              .meaning = "the number itself", .example = "0.3"},
    kSourceField,
    kNoteField,
};

constexpr std::array kTimeFields{
    FieldSpec{.key = "start", .type = F::StartDate, .default_text = "2021-01", .unit = "YYYY-MM",
              .meaning = "month of step 0", .example = "2021-01"},
    FieldSpec{.key = "step", .type = F::Choice, .default_text = "month",
              .meaning = "length of one step", .example = "month", .choices = kStepChoices},
    FieldSpec{.key = "steps", .type = F::Integer, .required = true, .range = kAtLeastOne,
              .unit = "steps", .meaning = "number of steps simulated (states 0..steps)",
              .example = "72"},
};

constexpr std::array kCountryFields{
    FieldSpec{.key = "name", .type = F::Text, .default_text = "the id",
              .meaning = "display name", .example = "Russia"},
    FieldSpec{.key = "talent", .type = F::Number, .range = kNonNegative, .default_text = "0",
              .unit = "persons", .meaning = "IT/STEM talent stock L0", .example = "760000"},
    FieldSpec{.key = "sanction_push", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month per unit of pressure", .per_month = true,
              .meaning = "extra emigration hazard from shortage and restriction pressure (theta)",
              .example = "0.02"},
    FieldSpec{.key = "base_emigration", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "emigration hazard beyond what training replaces (h0)", .example = "0"},
    FieldSpec{.key = "return_rate", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "share of the diaspora returning", .example = "0.01"},
    FieldSpec{.key = "training_rate", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "share of the talent gap L0 - L refilled", .example = "0.005"},
    FieldSpec{.key = "attraction", .type = F::CountryValues, .range = kNonNegative,
              .default_text = "none", .unit = "weight",
              .meaning = "destination weights for emigrants (normalised)",
              .example = "{EU: 0.4, KAZ: 0.3, USA: 0.3}"},
    FieldSpec{.key = "sector_weights", .type = F::SectorValues, .range = kNonNegative,
              .default_text = "equal", .unit = "weight",
              .meaning = "share of tech spending per sector d[c][s] (normalised)",
              .example = "{semiconductors: 2, software: 1}"},
    FieldSpec{.key = "distrust_build", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month per unit of restriction", .per_month = true,
              .meaning = "how fast lasting distrust of a supplier builds with its new restrictions, "
                         "exits and incidents (docs/model.md, Lock-in; 0: none)",
              .example = "0.05"},
    FieldSpec{.key = "distrust_decay", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "share of lasting distrust that fades", .example = "0.01"},
    FieldSpec{.key = "host_push", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month per unit of restriction", .per_month = true,
              .meaning = "extra return rate of the diaspora in a host that restricts its emigrants "
                         "(host_restriction events; docs/model.md, Talent; 0: none)",
              .example = "0.02"},
    FieldSpec{.key = "remote_share", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "share",
              .meaning = "share of leavers who keep working remotely for home firms (part of the "
                         "diaspora)",
              .example = "0.8"},
    FieldSpec{.key = "remote_weight", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "1",
              .meaning = "how much a remote worker counts toward the talent that drives "
                         "capability (0: not at all)",
              .example = "0.5"},
    FieldSpec{.key = "remote_attrition", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "share of remote workers who move to foreign employers or stop",
              .example = "0.02"},
    FieldSpec{.key = "blocs", .type = F::BlocList, .default_text = "none",
              .meaning = "blocs this country also joins (created when not declared)",
              .example = "[brics]"},
    kSourceField,
    kNoteField,
};

constexpr std::array kSectorFields{
    FieldSpec{.key = "name", .type = F::Text, .default_text = "the id",
              .meaning = "display name", .example = "Semiconductors"},
    FieldSpec{.key = "elasticity", .type = F::Number, .range = kElasticity, .default_value = 3.0,
              .default_text = "3", .unit = "1",
              .meaning = "substitution elasticity between suppliers (sigma)", .example = "3.0"},
    FieldSpec{.key = "adjustment", .type = F::Number, .range = kHalfOpenUnit,
              .default_value = 0.1, .default_text = "0.1", .unit = "per month",
              .per_month = true, .meaning = "share of the gap to target closed (lambda)",
              .example = "0.15"},
    FieldSpec{.key = "capacity_growth", .type = F::Number, .range = kUnitInterval,
              .default_value = 0.01, .default_text = "0.01", .unit = "per month",
              .per_month = true, .meaning = "capability growth at full investment (g)",
              .example = "0.01"},
    FieldSpec{.key = "depreciation", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "erosion of capability left unused (delta)", .example = "0.005"},
    FieldSpec{.key = "talent_intensity", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .unit = "1",
              .meaning = "elasticity of capability growth to the talent ratio (eta)",
              .example = "1.0"},
    FieldSpec{.key = "security_sensitivity", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .unit = "1",
              .meaning = "weight of distrust in the effective price (kappa)", .example = "0.2"},
    FieldSpec{.key = "demand_pull", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "1",
              .meaning = "how strongly unmet demand spurs capability (phi)", .example = "0.5"},
    FieldSpec{.key = "learning", .type = F::Number, .range = kNonNegative, .default_text = "0",
              .unit = "1", .meaning = "how fast the domestic price falls as capability grows (b)",
              .example = "0.5"},
    FieldSpec{.key = "entry_speed", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "how fast a brand new to a buyer enters once the market opens "
                         "(docs/model.md, Entry; 0: no entry)",
              .example = "0.1"},
    FieldSpec{.key = "switching_cost", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .unit = "share of price",
              .meaning = "extra price of a brand for the part of demand not on its installed base "
                         "(docs/model.md, Lock-in; 0: none)",
              .example = "0.3"},
    FieldSpec{.key = "network_effect", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .unit = "1",
              .meaning = "a brand's weight grows by exp(nu b), b its share of the installed base "
                         "(0: none)",
              .example = "2"},
    FieldSpec{.key = "installed_base_turnover", .type = F::Number, .range = kUnitInterval,
              .default_value = 1.0, .default_text = "1", .unit = "per month", .per_month = true,
              .meaning = "share of the installed base replaced by what is bought now (1: the base "
                         "is last month's shares)",
              .example = "0.0056"},
    FieldSpec{.key = "reentry_speed", .type = F::Number, .range = kUnitInterval,
              .default_value = 1.0, .default_text = "1", .unit = "per month", .per_month = true,
              .meaning = "share of its lost presence a vendor that left regains per month once "
                         "allowed back (1: at once, no re-entry cost)",
              .example = "0.1"},
    FieldSpec{.key = "idle_pricing", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .unit = "log price per unit of idle share",
              .meaning = "domestic producers cut their price to fill idle capability: log p falls "
                         "by this times the idle share beyond the start's (docs/model.md, Domestic "
                         "producers; 0: they only take what others leave or lose on price)",
              .example = "1.0"},
    FieldSpec{.key = "learning_by_doing", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .unit = "1",
              .meaning = "domestic quality-adjusted price falls by this times log(1 + experience), "
                         "experience = years of demand served beyond the start's domestic share",
              .example = "0.3"},
    FieldSpec{.key = "world_supply", .type = F::CountryValues, .range = kUnitInterval,
              .default_text = "none", .unit = "share",
              .meaning = "origin shares for buyers without a supply row; sums to 1",
              .example = "{USA: 0.5, KOR: 0.2, CHN: 0.3}"},
    FieldSpec{.key = "inputs", .type = F::SectorValues, .range = kBelowOne,
              .default_text = "none", .unit = "units of input per unit of output",
              .meaning = "technical coefficients a[input][this sector]; column sum < 1",
              .example = "{semiconductors: 0.3}"},
    kSourceField,
    kNoteField,
};

constexpr std::array kTablesFields{
    FieldSpec{.key = "supply", .type = F::Path, .meaning = "CSV buyer,sector,origin,share",
              .example = "data/supply.csv"},
    FieldSpec{.key = "inputs", .type = F::Path, .meaning = "CSV input,sector,coefficient",
              .example = "data/inputs.csv"},
};

// Keys every event has; `then` of a rule has the same minus the timing keys.
constexpr std::array kEventCommon{
    FieldSpec{.key = "id", .type = F::Id, .required = true, .meaning = "unique event id",
              .example = "export-controls-2022"},
    FieldSpec{.key = "type", .type = F::Choice, .required = true, .meaning = "event type",
              .example = "export_control"},
    FieldSpec{.key = "at", .type = F::Date, .required = true, .unit = "date or step",
              .meaning = "when it starts: YYYY-MM, YYYY-MM-DD or a step number",
              .example = "2022-03"},
    FieldSpec{.key = "until", .type = F::Date, .unit = "date or step",
              .meaning = "optional linear ramp: full strength from this date",
              .example = "2022-06"},
    FieldSpec{.key = "end", .type = F::Date, .unit = "date or step",
              .meaning = "optional: lifted from this date on", .example = "2026-01"},
    kRequiredSource,
    kNoteField,
};

constexpr std::array kThenCommon{
    FieldSpec{.key = "type", .type = F::Choice, .required = true, .meaning = "event type",
              .example = "exit_restriction"},
    FieldSpec{.key = "ramp", .type = F::Integer, .range = kNonNegative, .default_text = "0",
              .unit = "months", .meaning = "months to full strength after firing (0: at once)",
              .example = "3"},
    FieldSpec{.key = "duration", .type = F::Integer, .range = kNonNegative,
              .default_text = "0", .unit = "months",
              .meaning = "months until the event ends (0: never)", .example = "12"},
    kNoteField,
};

constexpr FieldSpec kSectorsField{.key = "sectors", .type = F::SectorList,
    .default_text = "every sector", .meaning = "sectors affected", .example = "[semiconductors]"};

constexpr FieldSpec share_field(std::string_view key, bool required, double default_value,
                                std::string_view default_text, std::string_view meaning) {
  return FieldSpec{.key = key, .type = F::Number, .required = required, .range = kUnitInterval,
                   .default_value = default_value, .default_text = default_text,
                   .unit = "share", .meaning = meaning, .example = "0.9"};
}

constexpr FieldSpec countries_field(std::string_view key, std::string_view meaning) {
  return FieldSpec{.key = key, .type = F::CountryList, .required = true, .meaning = meaning,
                   .example = "[RUS]"};
}

constexpr std::array kExportControlFields{
    countries_field("from", "exporting countries or blocs"),
    countries_field("to", "importing countries or blocs"),
    kSectorsField,
    share_field("intensity", true, 0.0, "", "restricted fraction of the direct flow"),
    share_field("evasion", false, 0.0, "0", "part of restricted demand that can still find a route"),
    FieldSpec{.key = "applies_to", .type = F::Choice, .default_text = "all",
              .meaning = "brand: the exporters' brands wherever made (a foreign direct product "
                         "rule); territory: goods made on or shipped from their soil; all: both",
              .example = "brand", .choices = kControlScopes},
    FieldSpec{.key = "site_enforcement", .type = F::CountryValues, .range = kUnitInterval,
              .default_text = "1 at every site", .unit = "share",
              .meaning = "brand rule: enforced fraction at production sites outside the "
                         "exporters (unlisted sites: 1)",
              .example = "{CHN: 0.5, ROW: 0.3}"},
};
constexpr std::array kImportBanFields{
    countries_field("importer", "the banning countries"),
    countries_field("supplier", "the banned suppliers"),
    kSectorsField,
    share_field("intensity", true, 0.0, "", "restricted fraction of the flow"),
    FieldSpec{.key = "applies_to", .type = F::Choice, .default_text = "brand",
              .meaning = "what `supplier` names: brands, production sites or shippers",
              .example = "brand", .choices = kBanScopes},
};
constexpr std::array kEnforcementFields{
    countries_field("hubs", "transshipment hubs whose flows to the targets are restricted"),
    countries_field("to", "the targets"),
    kSectorsField,
    share_field("level", true, 0.0, "", "restricted fraction of the hubs' flows to the targets"),
    FieldSpec{.key = "applies_to", .type = F::Choice, .default_text = "shipper",
              .meaning = "shipper: what the hubs ship and relay; site: goods made at the hubs",
              .example = "shipper", .choices = kEnforcementScopes},
};
constexpr std::array kAgreementFields{
    countries_field("members", "countries in the pact"),
    kSectorsField,
    share_field("trade_cost_cut", false, 0.0, "0", "fraction by which tau - 1 falls among members"),
    FieldSpec{.key = "tech_transfer", .type = F::Number, .range = kUnitInterval,
              .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "share of a partner's capability lead transferred", .example = "0.01"},
    share_field("trust", false, 0.0, "0", "fraction of distrust among members removed"),
};
constexpr std::array kInvestmentFields{
    countries_field("country", "the investing country"),
    kSectorsField,
    share_field("intensity", true, 0.0, "", "investment intensity of the programme"),
};
constexpr std::array kMandateFields{
    countries_field("country", "the country imposing the mandate"),
    kSectorsField,
    share_field("domestic_share", true, 0.0, "", "floor on the domestic share"),
    FieldSpec{.key = "segments", .type = F::SegmentList, .default_text = "the whole demand",
              .meaning = "the demand segments the mandate binds (a procurement rule)",
              .example = "[state, cii]"},
};
constexpr std::array kCyberIncidentFields{
    countries_field("target", "the country attacked"),
    countries_field("attributed_to", "the country blamed"),
    kSectorsField,
    FieldSpec{.key = "distrust", .type = F::Number, .range = kNonNegative, .default_text = "0",
              .unit = "1", .meaning = "distrust added toward the attributed country",
              .example = "0.3"},
    share_field("capacity_hit", false, 0.0, "0", "one-off fractional capability loss"),
};
constexpr std::array kEmigrationWaveFields{
    countries_field("country", "the country people leave"),
    FieldSpec{.key = "rate", .type = F::Number, .required = true, .range = kUnitInterval,
              .unit = "per month", .per_month = true,
              .meaning = "extra emigration hazard while active", .example = "0.015"},
    FieldSpec{.key = "destinations", .type = F::CountryValues, .range = kNonNegative,
              .default_text = "the country's attraction", .unit = "weight",
              .meaning = "destination weights (normalised)", .example = "{EU: 0.5, KAZ: 0.5}"},
    share_field("return_suppression", false, 0.0, "0",
                "share of the diaspora's returns held back while active (a call-up)"),
};
constexpr std::array kReturnCallFields{
    countries_field("country", "the home country its emigrants are called back to"),
    FieldSpec{.key = "hosts", .type = F::CountryList, .default_text = "wherever they live",
              .meaning = "the countries whose diaspora is called back",
              .example = "[EU, USA]"},
    FieldSpec{.key = "rate", .type = F::Number, .required = true, .range = kUnitInterval,
              .unit = "per month", .per_month = true,
              .meaning = "extra share of that diaspora returning while active",
              .example = "0.1"},
};
constexpr std::array kHostRestrictionFields{
    countries_field("hosts", "the host countries that restrict the emigrants"),
    countries_field("to", "the emigrants' origin countries"),
    share_field("level", true, 0.0, "",
                "how hard life abroad becomes: returns from the hosts rise by level x host_push, "
                "their attraction for new leavers falls by this fraction"),
};
constexpr std::array kRemoteWorkLimitFields{
    countries_field("country", "the home country limiting remote work from abroad"),
    FieldSpec{.key = "level", .type = F::Number, .required = true, .range = kUnitInterval,
              .unit = "per month", .per_month = true,
              .meaning = "share of remote workers abroad who stop working remotely for home, "
                         "while active",
              .example = "0.05"},
};
constexpr std::array kExitRestrictionFields{
    countries_field("country", "the country restricting exit"),
    share_field("level", true, 0.0, "", "exit restriction on specialists x[c]"),
};
constexpr std::array kSecondarySanctionsFields{
    countries_field("by", "the countries that threaten (they sanction the target)"),
    countries_field("to", "the targets"),
    FieldSpec{.key = "suppliers", .type = F::CountryList,
              .default_text = "every other country",
              .meaning = "the suppliers threatened if they serve the targets",
              .example = "[CHN, HKG]"},
    kSectorsField,
    share_field("level", true, 0.0, "",
                "how much the threatened suppliers hold back: their flows to the targets are "
                "restricted and their entry slowed by this fraction"),
};
constexpr std::array kLiftFields{
    FieldSpec{.key = "event", .type = F::EventRef, .required = true,
              .meaning = "id of the event it ends", .example = "export-controls-2022"},
};
constexpr std::array kSetFields{
    FieldSpec{.key = "path", .type = F::ParamPath, .required = true,
              .meaning = "sectors.<id>.<param>, countries.<id>.<param>, prices.<k>.<s>, "
                         "trade_costs.<k>.<c> or reroute_markup",
              .example = "sectors.software.elasticity"},
    FieldSpec{.key = "value", .type = F::Number, .required = true,
              .meaning = "new value, in the parameter's unit", .example = "4"},
};

#define TECHDEP_EVENT_OBJECTS(var, fields)                                    \
  constexpr ObjectSpec var##Object{"event", kEventCommon, fields}; \
  constexpr ObjectSpec var##Then{"then", kThenCommon, fields};

TECHDEP_EVENT_OBJECTS(kExportControl, kExportControlFields)
TECHDEP_EVENT_OBJECTS(kImportBan, kImportBanFields)
TECHDEP_EVENT_OBJECTS(kEnforcement, kEnforcementFields)
TECHDEP_EVENT_OBJECTS(kAgreement, kAgreementFields)
TECHDEP_EVENT_OBJECTS(kInvestment, kInvestmentFields)
TECHDEP_EVENT_OBJECTS(kMandate, kMandateFields)
TECHDEP_EVENT_OBJECTS(kCyberIncident, kCyberIncidentFields)
TECHDEP_EVENT_OBJECTS(kEmigrationWave, kEmigrationWaveFields)
TECHDEP_EVENT_OBJECTS(kExitRestriction, kExitRestrictionFields)
TECHDEP_EVENT_OBJECTS(kLift, kLiftFields)
TECHDEP_EVENT_OBJECTS(kSecondarySanctions, kSecondarySanctionsFields)
TECHDEP_EVENT_OBJECTS(kSet, kSetFields)
TECHDEP_EVENT_OBJECTS(kReturnCall, kReturnCallFields)
TECHDEP_EVENT_OBJECTS(kHostRestriction, kHostRestrictionFields)
TECHDEP_EVENT_OBJECTS(kRemoteWorkLimit, kRemoteWorkLimitFields)
#undef TECHDEP_EVENT_OBJECTS

constexpr std::array kEventTypeTable{
    EventTypeSpec{"export_control", "an exporter restricts flows to importers",
                  &kExportControlObject, &kExportControlThen},
    EventTypeSpec{"import_ban", "an importer bans suppliers", &kImportBanObject, &kImportBanThen},
    EventTypeSpec{"enforcement", "secondary sanctions on transshipment hubs",
                  &kEnforcementObject, &kEnforcementThen},
    EventTypeSpec{"agreement", "a cooperation pact", &kAgreementObject, &kAgreementThen},
    EventTypeSpec{"investment", "an import-substitution programme", &kInvestmentObject,
                  &kInvestmentThen},
    EventTypeSpec{"mandate", "a floor on the domestic share", &kMandateObject, &kMandateThen},
    EventTypeSpec{"cyber_incident", "an attack that raises distrust", &kCyberIncidentObject,
                  &kCyberIncidentThen},
    EventTypeSpec{"emigration_wave", "extra emigration while active", &kEmigrationWaveObject,
                  &kEmigrationWaveThen},
    EventTypeSpec{"exit_restriction", "travel restrictions on specialists",
                  &kExitRestrictionObject, &kExitRestrictionThen},
    EventTypeSpec{"lift", "ends an earlier event", &kLiftObject, &kLiftThen},
    EventTypeSpec{"set", "changes any parameter", &kSetObject, &kSetThen},
    EventTypeSpec{"secondary_sanctions", "a threat against suppliers that serve a target",
                  &kSecondarySanctionsObject, &kSecondarySanctionsThen},
    EventTypeSpec{"return_call", "an employer or state calls emigrants back by a deadline",
                  &kReturnCallObject, &kReturnCallThen},
    EventTypeSpec{"host_restriction", "banking or visa restrictions on emigrants abroad",
                  &kHostRestrictionObject, &kHostRestrictionThen},
    EventTypeSpec{"remote_work_limit", "a home rule against remote work from abroad",
                  &kRemoteWorkLimitObject, &kRemoteWorkLimitThen},
};

// The union of the type-specific keys, for paths and the schema. Order: first appearance.
constexpr std::array kAnyEventSpecific{
    kExportControlFields[0], kExportControlFields[1], kSectorsField, kExportControlFields[3],
    kExportControlFields[4], kImportBanFields[0], kImportBanFields[1], kEnforcementFields[0],
    kEnforcementFields[3], kAgreementFields[0], kAgreementFields[2], kAgreementFields[3],
    kAgreementFields[4], kInvestmentFields[0], kMandateFields[2], kMandateFields[3], kCyberIncidentFields[0],
    kCyberIncidentFields[1], kCyberIncidentFields[3], kCyberIncidentFields[4],
    kEmigrationWaveFields[1], kEmigrationWaveFields[2], kLiftFields[0], kSetFields[0],
    kSetFields[1], kAnyAppliesTo, kExportControlFields[6],
    kSecondarySanctionsFields[0], kSecondarySanctionsFields[2],
    kEmigrationWaveFields[3], kReturnCallFields[1],
};

constexpr std::array kWhenFields{
    FieldSpec{.key = "metric", .type = F::MetricName, .required = true,
              .meaning = "metric watched (docs/output-format.md)", .example = "emigrants"},
    FieldSpec{.key = "country", .type = F::CountryRef, .required = true,
              .meaning = "country whose metric is watched", .example = "RUS"},
    FieldSpec{.key = "sector", .type = F::SectorRef, .default_text = "sector-weighted mean",
              .meaning = "sector, for sector metrics", .example = "semiconductors"},
    FieldSpec{.key = "partner", .type = F::CountryRef,
              .meaning = "partner country, for partner metrics (supplier_share, shipper_share, site_share, import_value_by_*, total_dependency)",
              .example = "CHN"},
    FieldSpec{.key = "bloc", .type = F::BlocRef, .meaning = "bloc, for bloc_share; or instead of partner: the sum over its members",
              .example = "west"},
    FieldSpec{.key = "above", .type = F::Number, .meaning = "fires when the metric exceeds this",
              .example = "80000"},
    FieldSpec{.key = "below", .type = F::Number,
              .meaning = "fires when the metric falls below this", .example = "0.2"},
};

constexpr std::array kRuleFields{
    FieldSpec{.key = "id", .type = F::Id, .required = true, .meaning = "unique rule id",
              .example = "exit-restrictions"},
    FieldSpec{.key = "when", .type = F::Object, .required = true,
              .meaning = "the condition", .object = &kWhenObject},
    FieldSpec{.key = "then", .type = F::Object, .required = true,
              .meaning = "the event fired: an event without id, at, until, end",
              .object = &kAnyThenObject},
    FieldSpec{.key = "once", .type = F::Boolean, .default_text = "true",
              .meaning = "fire at most once", .example = "true"},
    FieldSpec{.key = "cooldown", .type = F::Integer, .range = kNonNegative,
              .default_text = "0", .unit = "months",
              .meaning = "months between firings; implies once: false", .example = "12"},
    kRequiredSource,
    kNoteField,
};

constexpr std::array kObservationFields{
    FieldSpec{.key = "fact", .type = F::FactRef, .required = true,
              .meaning = "the fact this value comes from", .example = "TR8"},
    kWhenFields[0],
    kWhenFields[1],
    kWhenFields[2],
    kWhenFields[3],
    kWhenFields[4],
    FieldSpec{.key = "segment", .type = F::SegmentRef, .default_text = "the whole demand",
              .meaning = "demand segment observed, for per-segment metrics (domestic_share, "
                         "import_share, shortage, supplier_share, compliance_gap)",
              .example = "state"},
    FieldSpec{.key = "date", .type = F::Date, .required = true, .unit = "date or step",
              .meaning = "when it was observed", .example = "2022-12"},
    FieldSpec{.key = "value", .type = F::Number, .required = true,
              .meaning = "observed value, in the metric's unit", .example = "0.40"},
    FieldSpec{.key = "tolerance", .type = F::Number, .range = kNonNegative,
              .default_text = "0", .meaning = "acceptable absolute deviation", .example = "0.1"},
    kNoteField,
};

constexpr std::array kOutputsFields{
    FieldSpec{.key = "metrics", .type = F::MetricList, .default_text = "every metric",
              .meaning = "metrics recorded", .example = "[domestic_share, shortage]"},
    FieldSpec{.key = "countries", .type = F::CountryList, .default_text = "every country",
              .meaning = "countries recorded (bloc ids expand)", .example = "[RUS]"},
    FieldSpec{.key = "sectors", .type = F::SectorList, .default_text = "every sector",
              .meaning = "sectors recorded", .example = "[semiconductors]"},
    FieldSpec{.key = "every", .type = F::Integer, .range = kAtLeastOne, .default_value = 1,
              .default_text = "1", .unit = "steps",
              .meaning = "record every N steps (the last step always)", .example = "1"},
};

constexpr Range kParetoShape{.min = 2.0, .min_open = true};
constexpr Range kFirmCount{.min = 1.0, .max = 10'000'000.0};
constexpr Range kWorkerCount{.min = 1.0, .max = 100'000'000.0};

constexpr std::array kAgentsFields{
    FieldSpec{.key = "firms_per_cell", .type = F::Integer, .range = kFirmCount,
              .default_value = 100, .default_text = "100", .unit = "firms",
              .meaning = "importer firms F per (country, sector)", .example = "200"},
    FieldSpec{.key = "firm_size_shape", .type = F::Number, .range = kParetoShape,
              .default_value = 3.0, .default_text = "3", .unit = "1",
              .meaning = "Pareto shape of firm sizes (finite variance needs > 2)", .example = "2.5"},
    FieldSpec{.key = "review_spread", .type = F::Number, .range = kNonNegative,
              .default_value = 0.5, .default_text = "0.5", .unit = "log sd",
              .meaning = "spread of firms' review probabilities around the sector's adjustment",
              .example = "0.5"},
    FieldSpec{.key = "risk_aversion_spread", .type = F::Number, .range = kNonNegative,
              .default_value = 0.5, .default_text = "0.5", .unit = "log sd",
              .meaning = "spread of firms' risk aversion, which scales kappa", .example = "0.5"},
    FieldSpec{.key = "heterogeneity", .type = F::Boolean, .default_text = "true",
              .meaning = "false: identical firms and identical workers", .example = "true"},
    FieldSpec{.key = "workers_per_country", .type = F::Integer, .range = kWorkerCount,
              .default_value = 1000, .default_text = "1000", .unit = "workers",
              .meaning = "worker agents N per country, each standing for L0 / N persons",
              .example = "10000"},
    FieldSpec{.key = "skill_effect", .type = F::Number, .range = kNonNegative,
              .default_value = 0.3, .default_text = "0.3", .unit = "log hazard per sd",
              .meaning = "how much more skilled workers leave (skill is standard normal)",
              .example = "0.3"},
    FieldSpec{.key = "remote_share", .type = F::Number, .range = kUnitInterval,
              .default_value = 0.3, .default_text = "0.3", .unit = "share",
              .meaning = "share of workers able to work remotely", .example = "0.3"},
    FieldSpec{.key = "remote_effect", .type = F::Number, .range = kNonNegative,
              .default_value = 0.5, .default_text = "0.5", .unit = "log hazard",
              .meaning = "how much more remote-capable workers leave", .example = "0.5"},
    FieldSpec{.key = "family_share", .type = F::Number, .range = kUnitInterval,
              .default_value = 0.5, .default_text = "0.5", .unit = "share",
              .meaning = "share of workers with family ties at home", .example = "0.5"},
    FieldSpec{.key = "family_effect", .type = F::Number, .range = kNonNegative,
              .default_value = 0.7, .default_text = "0.7", .unit = "log hazard",
              .meaning = "how much less workers with family ties leave and more they return",
              .example = "0.7"},
    FieldSpec{.key = "network_weight", .type = F::Number, .range = kNonNegative,
              .default_value = 2.0, .default_text = "2", .unit = "utility per share",
              .meaning = "logit weight of the share of compatriots abroad already at a "
                         "destination", .example = "2"},
};

constexpr std::array<std::string_view, 4> kDistributionChoices{"uniform", "triangular", "normal",
                                                               "lognormal"};

constexpr std::array kUncertainFields{
    FieldSpec{.key = "path", .type = F::Text, .required = true,
              .meaning = "the parameter, as a --set path", .example = "sectors.chips.elasticity"},
    FieldSpec{.key = "distribution", .type = F::Choice, .required = true,
              .meaning = "uniform (min, max), triangular (min, mode, max), normal (mean, sd) or "
                         "lognormal (log_mean, log_sd: of ln X)",
              .example = "triangular", .choices = kDistributionChoices},
    FieldSpec{.key = "min", .type = F::Number, .meaning = "uniform, triangular: lowest value",
              .example = "2"},
    FieldSpec{.key = "max", .type = F::Number, .meaning = "uniform, triangular: highest value",
              .example = "4"},
    FieldSpec{.key = "mode", .type = F::Number, .meaning = "triangular: most likely value",
              .example = "3"},
    FieldSpec{.key = "mean", .type = F::Number, .meaning = "normal: mean", .example = "3"},
    FieldSpec{.key = "sd", .type = F::Number, .range = kPositive,
              .meaning = "normal: standard deviation", .example = "0.5"},
    FieldSpec{.key = "log_mean", .type = F::Number, .meaning = "lognormal: mean of ln X",
              .example = "1.1"},
    FieldSpec{.key = "log_sd", .type = F::Number, .range = kPositive,
              .meaning = "lognormal: standard deviation of ln X", .example = "0.2"},
    FieldSpec{.key = "bounds", .type = F::NumberPair, .default_text = "none",
              .meaning = "truncation [low, high]: values outside are redrawn",
              .example = "[1.5, 6]"},
    kRequiredSource,
    kNoteField,
};

constexpr std::array kSweepFields{
    FieldSpec{.key = "grid", .type = F::PathValues,
              .meaning = "path -> list of values; every combination is a point (first path "
                         "slowest)",
              .example = "{events[controls].intensity: [0.4, 0.8]}"},
    FieldSpec{.key = "cases", .type = F::PathValuesList,
              .meaning = "a list of points, each a map path -> value",
              .example = "[{sectors.chips.elasticity: 2}, {sectors.chips.elasticity: 4}]"},
    FieldSpec{.key = "from_csv", .type = F::Path,
              .meaning = "CSV design, one point per row; the header names the paths (relative "
                         "to this file)",
              .example = "design.csv"},
    kNoteField,
};

constexpr ObjectSpec kUncertainObject{"uncertain", kUncertainFields};
constexpr ObjectSpec kSweepObject{"sweep", kSweepFields};

constexpr std::array kRoutesFields{
    FieldSpec{.key = "dispersion", .type = F::Number, .range = kPositive, .default_value = 8,
              .default_text = "8", .unit = "1",
              .meaning = "logit dispersion theta of route choice: a route's weight is "
                         "psi^-theta (large: the cheapest route takes all)",
              .example = "8"},
    FieldSpec{.key = "initial_hub_capacity", .type = F::Number, .range = kUnitInterval,
              .default_value = 1, .default_text = "1", .unit = "share",
              .meaning = "re-export capacity of a hub before broker networks form",
              .example = "0.3"},
    FieldSpec{.key = "broker_growth", .type = F::Number, .range = kUnitInterval,
              .default_value = 0, .default_text = "0", .unit = "per month", .per_month = true,
              .meaning = "share of a hub's missing capacity gained per month while it relays",
              .example = "0.1"},
    kSourceField,
    kNoteField,
};

constexpr std::array kSegmentFields{
    FieldSpec{.key = "name", .type = F::Text, .default_text = "the id",
              .meaning = "display name", .example = "defence procurement"},
    FieldSpec{.key = "elasticity", .type = F::Number, .range = kPositive, .default_value = 1,
              .default_text = "1", .unit = "factor",
              .meaning = "multiplies the sector's elasticity for this segment (below 1: less "
                         "price-sensitive)",
              .example = "0.3"},
    FieldSpec{.key = "adjustment", .type = F::Number, .range = kPositive, .default_value = 1,
              .default_text = "1", .unit = "factor",
              .meaning = "multiplies the sector's adjustment speed (the product is capped at 1)",
              .example = "0.5"},
    FieldSpec{.key = "security_sensitivity", .type = F::Number, .range = kNonNegative,
              .default_value = 1, .default_text = "1", .unit = "factor",
              .meaning = "multiplies the sector's security_sensitivity: how much distrust of a "
                         "supplier weighs in this segment's choice",
              .example = "3"},
    FieldSpec{.key = "served_first", .type = F::Boolean, .default_text = "false",
              .meaning = "takes scarce supply (restricted imports, domestic capability) before "
                         "the other segments",
              .example = "true"},
    kSourceField,
    kNoteField,
};

constexpr std::array kScenarioFields{
    FieldSpec{.key = "schema_version", .type = F::Integer, .required = true,
              .meaning = "version of this format; must be 1", .example = "1"},
    FieldSpec{.key = "name", .type = F::Name, .required = true,
              .meaning = "scenario name, [a-z0-9][a-z0-9_-]*", .example = "world-2021"},
    FieldSpec{.key = "description", .type = F::Text, .meaning = "free text",
              .example = "what the scenario asks"},
    FieldSpec{.key = "extends", .type = F::Path,
              .meaning = "a base scenario this one changes (path relative to this file)",
              .example = "world-2021.yaml"},
    FieldSpec{.key = "facts", .type = F::Path,
              .meaning = "facts file whose ids `source:` may cite (path relative to this file)",
              .example = "../seeds/facts.yaml"},
    FieldSpec{.key = "seed", .type = F::Seed, .default_value = 1, .default_text = "1",
              .meaning = "base random seed, 0 to 2^53-1", .example = "42"},
    FieldSpec{.key = "mode", .type = F::Choice, .default_text = "aggregate",
              .meaning = "aggregate (representative buyers) or agents", .example = "aggregate",
              .choices = kModeChoices},
    FieldSpec{.key = "agents", .type = F::Object,
              .meaning = "firms and workers of agent mode (ignored in aggregate mode)",
              .example = "{firms_per_cell: 200, workers_per_country: 10000}",
              .object = &kAgentsObject},
    FieldSpec{.key = "time", .type = F::Object, .required = true,
              .meaning = "calendar of the run", .example = "{start: 2021-01, step: month, steps: 72}",
              .object = &kTimeObject},
    FieldSpec{.key = "reroute_markup", .type = F::Number, .range = kNonNegative,
              .default_value = 0.3, .default_text = "0.3", .unit = "1",
              .meaning = "extra cost per transshipment hop (mu)", .example = "0.3"},
    FieldSpec{.key = "routes", .type = F::Object,
              .meaning = "route choice among transshipment hubs (docs/model.md, Routes)",
              .example = "{dispersion: 8, initial_hub_capacity: 0.3, broker_growth: 0.1}",
              .object = &kRoutesObject},
    FieldSpec{.key = "blocs", .type = F::BlocMap, .default_text = "none",
              .meaning = "named groups of countries, usable wherever a country list is",
              .example = "{west: [USA, EU]}"},
    FieldSpec{.key = "countries", .type = F::IdMap, .required = true,
              .meaning = "country id -> country", .object = &kCountryObject},
    FieldSpec{.key = "sectors", .type = F::IdMap, .required = true,
              .meaning = "sector id -> sector", .object = &kSectorObject},
    FieldSpec{.key = "supply", .type = F::SupplyTable, .range = kUnitInterval,
              .default_text = "the sector's world_supply", .unit = "share",
              .meaning = "initial origin shares S0 per buyer and sector; each row sums to 1",
              .example = "{RUS: {semiconductors: {RUS: 0.1, CHN: 0.9}}}"},
    FieldSpec{.key = "production_sites", .type = F::SiteTable, .range = kUnitInterval,
              .default_text = "every brand made at home", .unit = "share",
              .meaning = "where each brand home's output is made: sector -> brand -> site -> "
                         "share; each row sums to 1",
              .example = "{semiconductors: {USA: {USA: 0.4, TWN: 0.3, ROW: 0.3}}}"},
    FieldSpec{.key = "shipping", .type = F::ShippingTable, .range = kUnitInterval,
              .default_text = "shipped by the site", .unit = "share",
              .meaning = "who ships (consigns) goods made at a site to a buyer: buyer -> sector "
                         "-> site -> shipper -> share; each row sums to 1",
              .example = "{RUS: {semiconductors: {CHN: {CHN: 0.5, HKG: 0.5}}}}"},
    FieldSpec{.key = "segments", .type = F::IdMap, .default_text = "none",
              .meaning = "segment id -> the kinds of buyer demand_segments splits demand into "
                         "(docs/model.md, Demand segments)",
              .example = "{defence: {elasticity: 0.2, served_first: true}, firms: {}}",
              .object = &kSegmentObject},
    FieldSpec{.key = "demand_segments", .type = F::SegmentTable, .range = kUnitInterval,
              .default_text = "one whole buyer per cell", .unit = "share",
              .meaning = "each cell's demand split over segments: buyer -> sector -> segment -> "
                         "share; each row sums to 1",
              .example = "{RUS: {operating_systems: {state: 0.2, defence: 0.05, firms: 0.75}}}"},
    FieldSpec{.key = "segment_domestic_share", .type = F::SegmentTable, .range = kUnitInterval,
              .default_text = "the cell's", .unit = "share",
              .meaning = "a segment's own domestic share at the start: buyer -> sector -> segment "
                         "-> share; the cell's other segments share the rest of its domestic "
                         "supply",
              .example = "{RUS: {enterprise_software: {state: 0.55}}}"},
    FieldSpec{.key = "tables", .type = F::Object, .meaning = "CSV tables",
              .object = &kTablesObject},
    FieldSpec{.key = "capability", .type = F::CountrySectorTable, .range = kUnitInterval,
              .default_text = "the initial domestic share", .unit = "share",
              .meaning = "initial domestic capability Cap0; at least the domestic share",
              .example = "{RUS: {semiconductors: 0.08}}"},
    FieldSpec{.key = "prices", .type = F::CountrySectorTable, .range = kPositive,
              .default_value = 1, .default_text = "1", .unit = "index",
              .meaning = "supplier price index P[k][s], quality-adjusted",
              .example = "{CHN: {semiconductors: 0.9}}"},
    FieldSpec{.key = "trade_costs", .type = F::CountryCountryTable, .range = kAtLeastOne,
              .default_value = 1, .default_text = "1", .unit = "factor",
              .meaning = "trade cost tau[exporter][importer]", .example = "{CHN: {RUS: 1.05}}"},
    FieldSpec{.key = "distrust", .type = F::CountryCountryTable, .range = kNonNegative,
              .default_text = "0", .unit = "1", .meaning = "initial distrust rho0[country][partner]",
              .example = "{RUS: {USA: 0.2}}"},
    FieldSpec{.key = "events", .type = F::ObjectList, .default_text = "none",
              .meaning = "dated policy changes", .object = &kAnyEventObject},
    FieldSpec{.key = "rules", .type = F::ObjectList, .default_text = "none",
              .meaning = "conditional policy responses", .object = &kRuleObject},
    FieldSpec{.key = "observations", .type = F::ObjectList, .default_text = "none",
              .meaning = "calibration targets", .object = &kObservationObject},
    FieldSpec{.key = "outputs", .type = F::Object, .meaning = "what a run records",
              .object = &kOutputsObject},
    FieldSpec{.key = "replicates", .type = F::Integer, .range = kAtLeastOne, .default_value = 1,
              .default_text = "1", .unit = "runs",
              .meaning = "runs per sweep point, seeds derived from (seed, replicate): every point shares them",
              .example = "20"},
    FieldSpec{.key = "uncertain", .type = F::ObjectList, .default_text = "none",
              .meaning = "parameters drawn from a distribution in every replicate",
              .object = &kUncertainObject},
    FieldSpec{.key = "sweep", .type = F::Object, .default_text = "none",
              .meaning = "points `techdep sweep` runs: grid, cases or from_csv (exactly one)",
              .object = &kSweepObject},
};

constexpr std::array kFactSourceFields{
    FieldSpec{.key = "publisher", .type = F::Text, .meaning = "who published it"},
    FieldSpec{.key = "title", .type = F::Text, .meaning = "title of the publication"},
    FieldSpec{.key = "date", .type = F::Scalar, .meaning = "publication date"},
    FieldSpec{.key = "url", .type = F::Text, .meaning = "where to read it"},
};
constexpr ObjectSpec kFactSourceObject{"fact source", kFactSourceFields};

constexpr std::array kFactFields{
    FieldSpec{.key = "id", .type = F::Id, .required = true, .meaning = "unique fact id"},
    FieldSpec{.key = "claim", .type = F::Text, .meaning = "what the source says"},
    FieldSpec{.key = "figure", .type = F::Scalar, .meaning = "the number, if any"},
    FieldSpec{.key = "unit", .type = F::Text, .meaning = "unit of the figure"},
    FieldSpec{.key = "period", .type = F::Scalar, .meaning = "period the figure covers"},
    FieldSpec{.key = "source", .type = F::Object, .meaning = "the publication",
              .object = &kFactSourceObject},
    FieldSpec{.key = "confidence", .type = F::Scalar, .meaning = "how far to trust it"},
    kNoteField,
};

constexpr std::array kFactsFileFields{
    FieldSpec{.key = "schema_version", .type = F::Integer, .required = true,
              .meaning = "version of the facts format; must be 1"},
    FieldSpec{.key = "facts", .type = F::ObjectList, .required = true, .meaning = "the facts",
              .object = &kFactObject},
};

}  // namespace

const ObjectSpec kValueObject{"value", kValueFields};
const ObjectSpec kTimeObject{"time", kTimeFields};
const ObjectSpec kAgentsObject{"agents", kAgentsFields};
const ObjectSpec kCountryObject{"country", kCountryFields};
const ObjectSpec kSectorObject{"sector", kSectorFields};
const ObjectSpec kSegmentObject{"segment", kSegmentFields};
const ObjectSpec kTablesObject{"tables", kTablesFields};
const ObjectSpec kAnyEventObject{"event", kEventCommon, kAnyEventSpecific};
const ObjectSpec kAnyThenObject{"then", kThenCommon, kAnyEventSpecific};
const ObjectSpec kWhenObject{"when", kWhenFields};
const ObjectSpec kRuleObject{"rule", kRuleFields};
const ObjectSpec kObservationObject{"observation", kObservationFields};
const ObjectSpec kOutputsObject{"outputs", kOutputsFields};
const ObjectSpec kRoutesObject{"routes", kRoutesFields};
const ObjectSpec kScenarioObject{"scenario", kScenarioFields};
const ObjectSpec kFactObject{"fact", kFactFields};
const ObjectSpec kFactsFileObject{"facts file", kFactsFileFields};
const std::span<const EventTypeSpec> kEventTypes{kEventTypeTable};

const EventTypeSpec* find_event_type(std::string_view type) {
  for (const EventTypeSpec& spec : kEventTypes) {
    if (spec.type == type) return &spec;
  }
  return nullptr;
}

std::vector<std::string> event_type_names() {
  std::vector<std::string> names;
  for (const EventTypeSpec& spec : kEventTypes) names.emplace_back(spec.type);
  return names;
}

}  // namespace techdep::detail
