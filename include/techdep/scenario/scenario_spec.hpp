#pragma once
// The scenario as plain data: what the loader produces and everything downstream reads.
// Every name is resolved to a dense integer id; every rate is already per step; every table is
// dense. Nothing here knows about YAML (docs/architecture.md).

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "techdep/core/distribution.hpp"
#include "techdep/core/metric.hpp"

namespace techdep {

using CountryId = int;
using SectorId = int;
using BlocId = int;
using EventId = int;
using SegmentId = int;

enum class StepUnit { Month, Quarter, Year };
enum class Mode { Aggregate, Agents };

/// Calendar: step t covers months [start + t * months_per_step, start + (t+1) * months_per_step).
struct TimeSpec {
  int start_year = 2021;
  int start_month = 1;  ///< 1..12
  StepUnit step = StepUnit::Month;
  int months_per_step = 1;
  int steps = 1;  ///< number of transitions; states t = 0..steps are recorded
};

struct CountrySpec {
  std::string id;
  std::string name;
  double talent = 0.0;             ///< L0, persons
  double sanction_push = 0.0;      ///< theta: extra hazard per unit of pressure, per step
  double base_emigration = 0.0;    ///< h0: hazard beyond what training replaces, per step
  double return_rate = 0.0;        ///< share of the diaspora returning, per step
  double training_rate = 0.0;      ///< share of the talent gap L0 - L refilled, per step
  std::vector<double> attraction;  ///< [destination country], normalised to sum 1 (or all 0)
  std::vector<double> sector_weights;  ///< d[c][s], normalised to sum 1
  /// Lasting distrust (docs/model.md, Lock-in): how fast this buyer's distrust of a supplier
  /// builds per unit of the supplier's new restrictions and incidents, and how fast it fades,
  /// per step. 0 and 0: no memory.
  double distrust_build = 0.0;
  double distrust_decay = 0.0;
  /// Talent that responds (docs/model.md, Talent); each default switches its part off.
  double host_push = 0.0;         ///< extra return rate per unit of a host's restriction, per step
  double remote_share = 0.0;      ///< share of leavers who keep working remotely for home firms
  double remote_weight = 0.0;     ///< how much a remote worker counts in the capability's talent
  double remote_attrition = 0.0;  ///< share of remote workers who stop working for home, per step
};

struct SectorSpec {
  std::string id;
  std::string name;
  double elasticity = 3.0;            ///< sigma > 0, != 1
  double adjustment = 0.1;            ///< lambda per step, in (0, 1]
  double capacity_growth = 0.01;      ///< g per step
  double depreciation = 0.0;          ///< delta per step
  double talent_intensity = 0.0;      ///< eta
  double security_sensitivity = 0.0;  ///< kappa
  double demand_pull = 0.0;           ///< phi
  double learning = 0.0;              ///< b
  double entry_speed = 0.0;           ///< per step: how fast a supplier new to a buyer enters
  // Lock-in (docs/model.md, Lock-in); each default switches its mechanism off.
  double switching_cost = 0.0;           ///< share of the price paid to adopt beyond the base
  double network_effect = 0.0;           ///< nu: weight x exp(nu b), b the brand's base share
  double installed_base_turnover = 1.0;  ///< per step: share of the installed base replaced
  double reentry_speed = 1.0;            ///< per step: how fast a vendor that left comes back
  // Domestic competition (docs/model.md, Domestic producers); 0 switches each off.
  double idle_pricing = 0.0;       ///< log price cut per unit of idle capability share
  double learning_by_doing = 0.0;  ///< log price cut per unit of log(1 + experience)
};

/// A kind of buyer within a country's demand (docs/model.md, Demand segments): state bodies,
/// critical-infrastructure operators, defence, private firms. Its parameters scale the sector's.
struct SegmentSpec {
  std::string id;
  std::string name;
  double elasticity = 1.0;            ///< multiplies the sector's elasticity sigma
  double adjustment = 1.0;            ///< multiplies the sector's adjustment speed (capped at 1)
  double security_sensitivity = 1.0;  ///< multiplies kappa: how much distrust weighs
  bool served_first = false;          ///< takes scarce supply before the other segments (defence)
};

/// `share` of buyer `buyer`'s demand in `sector` comes from segment `segment`. Each
/// (buyer, sector) with rows sums to 1; a cell without rows is one whole buyer.
/// `start_domestic`: the segment's own domestic share at t = 0 when the scenario gives it
/// (`segment_domestic_share`), -1 otherwise (the segments without one share what is left).
struct SegmentShare {
  CountryId buyer = -1;
  SectorId sector = -1;
  SegmentId segment = -1;
  double share = 0.0;
  double start_domestic = -1.0;
};

struct BlocSpec {
  std::string id;
  std::vector<CountryId> members;  ///< sorted, unique
};

enum class EventType {
  ExportControl,
  ImportBan,
  Enforcement,
  Agreement,
  Investment,
  Mandate,
  CyberIncident,
  EmigrationWave,
  ExitRestriction,
  Lift,
  Set,
  SecondarySanctions,
  ReturnCall,
  HostRestriction,
  RemoteWorkLimit,
};

/// Which flows a restriction names by the countries of its event (docs/model.md, "Brand,
/// production site and shipper"). An option is (brand home k, production site p, shipper h).
enum class RestrictionScope {
  Brand,      ///< the countries' brands, wherever made and whoever ships them
  Territory,  ///< goods made on or shipped from the countries' soil, of any brand
  All,        ///< both: the usual reach of an export control with a foreign direct product rule
  Site,       ///< goods made at the countries' sites (enforcement against a production site)
  Shipper,    ///< goods the countries ship (enforcement against a hub; an import ban by consignor)
};

/// A parameter an event of type `set` (or a sweep) may change, resolved at load time.
struct ParamRef {
  enum class Kind {
    SectorElasticity,
    SectorAdjustment,
    SectorCapacityGrowth,
    SectorDepreciation,
    SectorTalentIntensity,
    SectorSecuritySensitivity,
    SectorDemandPull,
    SectorLearning,
    CountrySanctionPush,
    CountryBaseEmigration,
    CountryReturnRate,
    CountryTrainingRate,
    Price,           ///< P[country][sector]
    TradeCost,       ///< tau[country = exporter][partner = importer]
    RerouteMarkup,
  };
  Kind kind = Kind::RerouteMarkup;
  CountryId country = -1;
  SectorId sector = -1;
  CountryId partner = -1;
};

/// One dated policy change (model.md section 4). Fields a type does not use keep their defaults.
/// Steps: the event is active for at_step <= t < end_step; between at_step and until_step its
/// strength ramps linearly from 0 to full (full at until_step); no ramp when until_step <= at_step.
struct EventSpec {
  std::string id;
  EventType type = EventType::Set;
  int at_step = 0;
  int until_step = -1;          ///< -1: no ramp
  int end_step = -1;            ///< -1: never ends (a `lift` event may end it)
  std::string source;           ///< fact id(s) joined by ',' or "assumption"

  // Country roles. export_control: from = exporters, to = importers. import_ban: to = importer,
  // from = suppliers. enforcement: from = hubs, to = targets. agreement: from = members.
  // investment, mandate, emigration_wave, exit_restriction, remote_work_limit: to = the country.
  // cyber_incident: to = target, from = attributed_to. return_call: to = the home country, from =
  // the hosts whose diaspora it calls back (empty: wherever it lives). host_restriction: from =
  // the hosts, to = the emigrants' origins.
  std::vector<CountryId> from;
  std::vector<CountryId> to;
  std::vector<SectorId> sectors;  ///< empty means every sector for types that take sectors
  /// mandate: the demand segments it binds; empty means the whole demand of the cell
  std::vector<SegmentId> segments;

  double intensity = 0.0;       ///< export_control, import_ban, investment
  double evasion = 0.0;         ///< export_control: e in [0, 1]
  /// export_control (default All), import_ban (default Brand), enforcement (default Shipper)
  RestrictionScope scope = RestrictionScope::All;
  /// export_control, brand rule at sites outside `from`: the enforced fraction per site
  /// [country]; empty means 1 everywhere (the control binds wherever the brand is made)
  std::vector<double> site_enforcement;
  double level = 0.0;           ///< enforcement, exit_restriction, host_restriction, remote_work_limit
  double trade_cost_cut = 0.0;  ///< agreement: fraction by which tau - 1 falls among members
  double tech_transfer = 0.0;   ///< agreement, per step
  double trust = 0.0;           ///< agreement: fraction of distrust among members removed
  double domestic_share = 0.0;  ///< mandate floor
  double distrust = 0.0;        ///< cyber_incident: added rho
  double capacity_hit = 0.0;    ///< cyber_incident: one-off fractional capability loss
  double rate = 0.0;            ///< emigration_wave: extra hazard; return_call: extra return rate; per step
  double return_suppression = 0.0;  ///< emigration_wave: share of returns held back while active
  std::vector<double> destinations;  ///< emigration_wave: [country] weights, normalised; empty = country's attraction
  /// secondary_sanctions: the suppliers threatened (from = the countries that threaten them,
  /// to = the targets); empty means every country outside `from` and `to`
  std::vector<CountryId> threatened;

  EventId lifted_event = -1;    ///< lift: the event it ends
  ParamRef parameter;           ///< set
  double value = 0.0;           ///< set
};

enum class RuleComparison { Above, Below };

/// A government's conditional response (model.md section 6): when the metric crosses the
/// threshold, the event fires (active from the next step).
struct RuleSpec {
  std::string id;
  Metric metric = Metric::Shortage;
  CountryId country = -1;
  SectorId sector = -1;    ///< -1 for country metrics, or to average over sectors (weights d)
  CountryId partner = -1;  ///< partner metrics
  BlocId bloc = -1;        ///< bloc_share
  RuleComparison comparison = RuleComparison::Above;
  double threshold = 0.0;
  bool once = true;
  int cooldown_steps = 0;  ///< when !once: steps between firings
  EventSpec then;          ///< at_step/until_step/end_step relative to the firing step
  std::string source;
};

/// An observed value the model should reproduce (calibration target).
struct ObservationSpec {
  std::string fact;
  Metric metric = Metric::Shortage;
  CountryId country = -1;
  SectorId sector = -1;
  CountryId partner = -1;
  BlocId bloc = -1;
  SegmentId segment = -1;  ///< -1: the whole demand of the cell
  int step = 0;
  std::string date;  ///< as written, for the report
  double value = 0.0;
  double tolerance = 0.0;
};

struct OutputSpec {
  std::vector<Metric> metrics;       ///< empty: every metric
  std::vector<CountryId> countries;  ///< empty: every country
  std::vector<SectorId> sectors;     ///< empty: every sector
  int every = 1;                     ///< record every N steps (and always the last)
};

/// Agent mode (model.md section 6; docs/model.md "Agent mode"). Read only when mode is agents.
struct AgentsSpec {
  int firms_per_cell = 100;           ///< F importer firms per (country, sector)
  double firm_size_shape = 3.0;       ///< Pareto shape of firm sizes, > 2
  double review_spread = 0.5;         ///< sd of the log multiplier of a firm's review probability
  double risk_aversion_spread = 0.5;  ///< sd of the log multiplier of a firm's kappa
  bool heterogeneity = true;          ///< false: identical firms and identical workers
  int workers_per_country = 1000;     ///< N worker agents per country, each L0 / N persons
  double skill_effect = 0.3;          ///< log hazard per standard deviation of skill
  double remote_share = 0.3;          ///< share of workers able to work remotely
  double remote_effect = 0.5;         ///< log hazard of remote-capable workers
  double family_share = 0.5;          ///< share of workers with family ties at home
  double family_effect = 0.7;         ///< lowers the log hazard, raises the log return probability
  double network_weight = 2.0;        ///< logit utility per unit share of compatriots abroad there
};

/// A parameter known only as a distribution (`uncertain:`): every replicate draws its own value
/// and applies it as an override of `path` (the `--set` syntax).
struct UncertainSpec {
  std::string path;  ///< e.g. `sectors.semiconductors.elasticity`
  Distribution distribution;
  std::string source;
};

/// The points of a `sweep:`: each point sets every path to its value (YAML text as written).
/// No paths means a single point, the scenario itself.
struct SweepSpec {
  std::vector<std::string> paths;
  std::vector<std::vector<std::string>> values;  ///< [point][path]
  int point_count() const { return paths.empty() ? 1 : static_cast<int>(values.size()); }
};

/// Where a brand home's output of a sector is made: `share` of brand `brand`'s goods in `sector`
/// come from production site `site`. Each (sector, brand) with rows sums to 1; a brand without
/// rows is made at home.
struct SiteShare {
  SectorId sector = -1;
  CountryId brand = -1;
  CountryId site = -1;
  double share = 0.0;
};

/// How goods made at `site` reach `buyer` in `sector`: `share` of them are shipped (consigned) by
/// `shipper` (a trading hub such as Hong Kong), the rest by the site itself. Each
/// (buyer, sector, site) with rows sums to 1.
struct ShippingShare {
  CountryId buyer = -1;
  SectorId sector = -1;
  CountryId site = -1;
  CountryId shipper = -1;
  double share = 0.0;
};

/// Route choice among relays (docs/model.md, "Routes").
struct RouteSpec {
  double dispersion = 8.0;        ///< theta: logit weight of a route is psi^-theta
  double initial_hub_capacity = 1.0;  ///< a hub's re-export capacity before brokers organise
  double broker_growth = 0.0;     ///< per step: capacity gained toward 1 while a hub relays
};

/// The whole scenario. Dense tables use row-major index helpers below.
struct ScenarioSpec {
  std::string name;
  std::string description;
  std::string file;  ///< path of the scenario file it was loaded from
  std::uint64_t seed = 1;
  Mode mode = Mode::Aggregate;
  AgentsSpec agents;
  TimeSpec time;

  std::vector<CountrySpec> countries;
  std::vector<SectorSpec> sectors;
  std::vector<BlocSpec> blocs;

  double reroute_markup = 0.3;  ///< mu
  RouteSpec routes;

  std::vector<double> supply;        ///< S0[c][s][k], size C*S*C, each (c, s) row sums to 1
  /// W[s][k], size S*C: the sector's world market shares by brand home (`world_supply`), 0 where
  /// not given; a brand with W > 0 is competitive enough to enter a market it does not serve
  std::vector<double> world_supply;
  std::vector<double> inputs;        ///< a[s'][s], size S*S (input s' per unit of output s)
  std::vector<double> capability;    ///< Cap0[c][s], size C*S
  std::vector<double> price;         ///< P[k][s], size C*S
  std::vector<double> trade_cost;    ///< tau[k][c] (exporter k, importer c), size C*C, >= 1
  std::vector<double> distrust;      ///< rho0[c][k], size C*C, >= 0
  std::vector<SiteShare> production_sites;  ///< sorted by (sector, brand, site)
  std::vector<ShippingShare> shipping;      ///< sorted by (buyer, sector, site, shipper)
  std::vector<SegmentSpec> segments;        ///< the kinds of buyer `demand_segments` may use
  std::vector<SegmentShare> demand_segments;  ///< sorted by (buyer, sector, segment)

  std::vector<EventSpec> events;
  std::vector<RuleSpec> rules;
  std::vector<ObservationSpec> observations;
  OutputSpec outputs;

  int replicates = 1;  ///< runs per sweep point, seeds run_seed(seed, replicate) at every point
  std::vector<UncertainSpec> uncertain;
  SweepSpec sweep;

  int country_count() const { return static_cast<int>(countries.size()); }
  int sector_count() const { return static_cast<int>(sectors.size()); }
  int bloc_count() const { return static_cast<int>(blocs.size()); }
  int segment_count() const { return static_cast<int>(segments.size()); }

  std::size_t supply_index(CountryId buyer, SectorId sector, CountryId origin) const {
    const std::size_t c = countries.size();
    const std::size_t s = sectors.size();
    return (static_cast<std::size_t>(buyer) * s + static_cast<std::size_t>(sector)) * c +
           static_cast<std::size_t>(origin);
  }
  std::size_t cell_index(CountryId country, SectorId sector) const {
    return static_cast<std::size_t>(country) * sectors.size() + static_cast<std::size_t>(sector);
  }
  /// Whether `buyer`'s demand in `sector` is split into `segment` (a demand_segments row).
  bool splits_into(CountryId buyer, SectorId sector, SegmentId segment) const {
    return std::any_of(demand_segments.begin(), demand_segments.end(),
                       [&](const SegmentShare& row) {
                         return row.buyer == buyer && row.sector == sector &&
                                row.segment == segment;
                       });
  }
  std::size_t input_index(SectorId input, SectorId output) const {
    return static_cast<std::size_t>(input) * sectors.size() + static_cast<std::size_t>(output);
  }
  std::size_t pair_index(CountryId first, CountryId second) const {
    return static_cast<std::size_t>(first) * countries.size() + static_cast<std::size_t>(second);
  }
};

/// "2022-03" for monthly steps, "2022-Q1" for quarterly, "2022" for yearly.
std::string step_label(const TimeSpec& time, int step);

}  // namespace techdep

namespace techdep {

/// The step containing a date written `YYYY-MM` or `YYYY-MM-DD`, or a plain step number. Empty
/// when the text is neither; the step may lie outside the horizon (the caller checks).
std::optional<int> parse_step(const TimeSpec& time, std::string_view text);

}  // namespace techdep
