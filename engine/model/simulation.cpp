#include "techdep/model/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "model/agents.hpp"
#include "model/model_state.hpp"
#include "model/phases.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/matrix/ces_targets.hpp"
#include "techdep/matrix/total_dependency.hpp"

namespace techdep {

std::string_view phase_name(Phase phase) {
  switch (phase) {
    case Phase::Events: return "events";
    case Phase::Routes: return "routes";
    case Phase::Targets: return "targets";
    case Phase::Shares: return "shares";
    case Phase::Capability: return "capability";
    case Phase::Talent: return "talent";
    case Phase::Metrics: return "metrics";
    case Phase::Rules: return "rules";
  }
  return "unknown";
}

bool scenario_reads_metric(const ScenarioSpec& spec, Metric metric) {
  const auto& written = spec.outputs.metrics;
  const auto reads = [&](const auto& item) { return item.metric == metric; };
  return written.empty() || std::ranges::find(written, metric) != written.end() ||
         std::ranges::any_of(spec.observations, reads) || std::ranges::any_of(spec.rules, reads);
}

std::vector<unsigned char> recorded_or_observed_steps(const ScenarioSpec& spec) {
  const auto last = static_cast<std::size_t>(std::max(0, spec.time.steps));
  std::vector<unsigned char> steps(last + 1, 0);
  const auto stride = static_cast<std::size_t>(std::max(1, spec.outputs.every));
  for (std::size_t t = 0; t <= last; t += stride) steps[t] = 1;
  steps[last] = 1;
  for (const ObservationSpec& observation : spec.observations) {
    if (observation.step >= 0 && static_cast<std::size_t>(observation.step) <= last) {
      steps[static_cast<std::size_t>(observation.step)] = 1;
    }
  }
  return steps;
}

namespace {

#ifdef TECHDEP_CHECK_INVARIANTS_ALWAYS
constexpr bool kAlwaysCheck = true;
#else
constexpr bool kAlwaysCheck = false;
#endif

// model.md section 5: tolerance of the share identity and of the bounds.
constexpr double kSumTolerance = 1e-9;
constexpr double kBoundSlack = 1e-12;

bool metric_selected(const OutputSpec& outputs, Metric metric) {
  return outputs.metrics.empty() ||
         std::find(outputs.metrics.begin(), outputs.metrics.end(), metric) != outputs.metrics.end();
}

}  // namespace

struct Simulation::Impl {
  ScenarioSpec spec;
  SimulationOptions options;
  std::uint64_t seed = 0;  // run_seed(spec.seed, replicate)
  bool checks = false;
  int step = 0;
  std::vector<EventSpec> events;  // the spec's, then those rules fired
  std::vector<int> ends;
  detail::Parameters params;
  detail::Policy policy;
  detail::OptionPolicy option_policy;
  detail::Targets targets;
  detail::Calibration calibration;
  detail::ModelState state;
  std::unique_ptr<WorkerTeam> team;  // before `scratch`, which points to it
  detail::Scratch scratch;
  MetricsFrame frame;
  int frame_step = -1;             // the step `frame` describes; -1 before the first
  std::vector<unsigned char> eager;  // [step]: compute the frame right after the step
  std::optional<TotalDependencySolver> dependency;
  std::vector<RuleFiring> firings;
  std::vector<int> last_fired;  // per rule, -1 never
  std::optional<detail::AgentPopulations> agents;  // agent mode only

  Impl(ScenarioSpec scenario, SimulationOptions opts);
  void calibrate();
  void update_option_policy();
  void grow_hub_capacity();
  void grow_entry();
  void run_step();
  void evaluate_rules();
  double rule_value(const RuleSpec& rule) const;
  void record_metrics();
  void ensure_metrics();
  void check(Phase phase);

  // Entity names for error messages: names are only built when something broke.
  std::string cell_name(std::size_t cell) const;
  std::string flow_name(std::size_t index) const;
  std::string option_name(std::size_t option) const;
  [[noreturn]] void fail(Phase phase, std::string_view quantity, const std::string& entity,
                         double value, std::string_view expected) const;
  void check_finite(Phase phase, std::string_view quantity, std::span<const double> values,
                    std::string (Impl::*name)(std::size_t) const,
                    bool allow_infinite = false) const;
  void check_unit(Phase phase, std::string_view quantity, std::vector<double>& values,
                  std::string (Impl::*name)(std::size_t) const);
  std::string country_name(std::size_t c) const { return spec.countries[c].id; }
  std::string pair_name(std::size_t index) const {
    return country_name(index / spec.countries.size()) + "/" +
           country_name(index % spec.countries.size());
  }
  std::string sector_name(std::size_t s) const { return spec.sectors[s].id; }
  std::string price_name(std::size_t index) const {
    return country_name(index / spec.sectors.size()) + "/" +
           sector_name(index % spec.sectors.size());
  }
};

std::string Simulation::Impl::cell_name(std::size_t cell) const {
  return country_name(cell / spec.sectors.size()) + "/" + sector_name(cell % spec.sectors.size());
}

std::string Simulation::Impl::flow_name(std::size_t index) const {
  const std::size_t cn = spec.countries.size();
  return cell_name(index / cn) + "/" + country_name(index % cn);
}

std::string Simulation::Impl::option_name(std::size_t option) const {
  const std::vector<std::size_t>& first = calibration.options.first;
  const auto cell = static_cast<std::size_t>(
      std::upper_bound(first.begin(), first.end(), option) - first.begin() - 1);
  const detail::OptionLists& lists = calibration.options;
  const auto brand = static_cast<std::size_t>(lists.origin[option]);
  const auto site = static_cast<std::size_t>(lists.site[option]);
  const auto shipper = static_cast<std::size_t>(lists.shipper[option]);
  std::string name = cell_name(cell) + "/" + country_name(brand);
  if (site != brand || shipper != brand) {
    name += "(made in " + country_name(site) + ", shipped by " + country_name(shipper) + ")";
  }
  return name;
}

void Simulation::Impl::fail(Phase phase, std::string_view quantity, const std::string& entity,
                            double value, std::string_view expected) const {
  throw NumericalError(fmt::format("step {}, phase {}: {} {} = {}; expected {}", step,
                                   phase_name(phase), quantity, entity, value, expected));
}

void Simulation::Impl::check_finite(Phase phase, std::string_view quantity,
                                    std::span<const double> values,
                                    std::string (Impl::*name)(std::size_t) const,
                                    bool allow_infinite) const {
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (std::isnan(v) || (!allow_infinite && !std::isfinite(v))) {
      fail(phase, quantity, (this->*name)(i), v, "a finite value");
    }
  }
}

void Simulation::Impl::check_unit(Phase phase, std::string_view quantity,
                                  std::vector<double>& values,
                                  std::string (Impl::*name)(std::size_t) const) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    double& v = values[i];
    if (v < 0.0 && v > -kBoundSlack) v = 0.0;
    if (v > 1.0 && v < 1.0 + kBoundSlack) v = 1.0;
    if (!(v >= 0.0 && v <= 1.0)) fail(phase, quantity, (this->*name)(i), v, "a value in [0, 1]");
  }
}

void Simulation::Impl::check(Phase phase) {
  if (!checks) return;
  const std::size_t cn = spec.countries.size();
  switch (phase) {
    case Phase::Events:
      check_finite(phase, "price", params.price, &Impl::price_name);
      check_finite(phase, "trade_cost", params.trade_cost, &Impl::pair_name);
      check_finite(phase, "distrust", policy.distrust, &Impl::pair_name);
      for (const detail::LegRestriction& leg : policy.leg_restriction) {
        if (!(leg.restriction >= 0.0 && leg.restriction <= 1.0)) {
          fail(phase, "restriction", flow_name(leg.flow), leg.restriction, "a value in [0, 1]");
        }
      }
      check_unit(phase, "investment", policy.investment, &Impl::cell_name);
      check_unit(phase, "mandate", policy.mandate, &Impl::cell_name);
      for (std::size_t s = 0; s < spec.sectors.size(); ++s) {
        const SectorSpec& sec = params.sectors[s];
        for (const double v : {sec.elasticity, sec.adjustment, sec.capacity_growth,
                               sec.depreciation, sec.talent_intensity, sec.security_sensitivity,
                               sec.demand_pull, sec.learning}) {
          if (!std::isfinite(v)) {
            fail(phase, "sector parameter", sector_name(s), v, "a finite value");
          }
        }
      }
      if (!std::isfinite(params.reroute_markup)) {
        fail(phase, "reroute_markup", "(world)", params.reroute_markup, "a finite value");
      }
      break;
    case Phase::Routes:
      check_finite(phase, "reroute multiplier", option_policy.multiplier, &Impl::option_name);
      check_unit(phase, "option restriction", option_policy.restriction, &Impl::option_name);
      check_unit(phase, "option evasion", option_policy.evasion, &Impl::option_name);
      break;
    case Phase::Targets:
      check_unit(phase, "target share", targets.target, &Impl::option_name);
      check_finite(phase, "cap", targets.cap, &Impl::option_name, true);
      check_finite(phase, "domestic demand", targets.domestic_demand, &Impl::cell_name);
      break;
    case Phase::Shares:
    case Phase::Capability:
    case Phase::Talent:
    case Phase::Rules:
      break;
    case Phase::Metrics:
      check_finite(phase, "price_index", frame.price_index, &Impl::cell_name, true);
      check_finite(phase, "hhi", frame.hhi, &Impl::cell_name);
      check_finite(phase, "shipper_share", frame.shipper_share, &Impl::flow_name);
      break;
  }
  check_unit(phase, "share", state.share, &Impl::option_name);
  check_unit(phase, "shortage", state.shortage, &Impl::cell_name);
  check_unit(phase, "capacity", state.capability, &Impl::cell_name);
  check_finite(phase, "rerouted", state.rerouted, &Impl::option_name);
  const std::vector<std::size_t>& first = calibration.options.first;
  for (std::size_t cell = 0; cell < state.shortage.size(); ++cell) {
    double sum = state.shortage[cell];
    for (std::size_t o = first[cell]; o < first[cell + 1]; ++o) sum += state.share[o];
    if (!(std::abs(sum - 1.0) < kSumTolerance)) {
      fail(phase, "sum of shares and shortage", cell_name(cell), sum, "1 within 1e-9");
    }
  }
  for (std::size_t c = 0; c < cn; ++c) {
    const double values[] = {state.talent[c], state.emigrants[c], state.returns[c]};
    for (const double v : values) {
      if (!(v >= 0.0) || !std::isfinite(v)) {
        fail(phase, "talent", country_name(c), v, "a finite value >= 0");
      }
    }
  }
  check_finite(phase, "diaspora", state.diaspora, &Impl::pair_name);
  for (std::size_t pair = 0; pair < state.remote.size(); ++pair) {
    const double remote = state.remote[pair];
    if (!(remote >= 0.0) || !(remote <= state.diaspora[pair])) {
      fail(phase, "remote workers", pair_name(pair), remote,
           "a value in [0, the diaspora of the pair]");
    }
  }
}

Simulation::Impl::Impl(ScenarioSpec scenario, SimulationOptions opts)
    : spec(std::move(scenario)), options(opts),
      seed(techdep::run_seed(spec.seed, opts.replicate)),
      checks(opts.check_invariants || kAlwaysCheck), events(spec.events) {
  const std::size_t cn = spec.countries.size();
  const std::size_t sn = spec.sectors.size();
  const std::size_t flows = cn * sn * cn;
  const std::size_t cells = cn * sn;

  detail::build_option_lists(spec, calibration.options);
  detail::build_input_lists(spec, calibration);
  const detail::OptionLists& option_lists = calibration.options;
  const std::size_t option_count = option_lists.size();
  state.share.resize(option_count);
  state.shortage.assign(cells, 0.0);
  for (std::size_t cell = 0; cell < cells; ++cell) {
    // The combinations left out have no initial share: the sum is the same.
    double served = 0.0;
    for (std::size_t o = option_lists.first[cell]; o < option_lists.first[cell + 1]; ++o) {
      state.share[o] = option_lists.initial_share[o];
      served += state.share[o];
    }
    state.shortage[cell] = std::max(0.0, 1.0 - served);
  }
  state.slot_share = option_lists.slot_initial_share;
  state.hub_capacity.assign(cn, spec.routes.initial_hub_capacity);
  state.entry.assign(option_count, 0.0);
  state.installed_base = state.share;
  state.presence.assign(option_count, 1.0);
  state.grey_evasion.assign(option_count, 0.0);
  state.lasting_distrust.assign(cn * cn, 0.0);
  state.rerouted.assign(option_count, 0.0);
  state.capability = spec.capability;
  state.experience.assign(cells, 0.0);
  state.talent.resize(cn);
  for (std::size_t c = 0; c < cn; ++c) state.talent[c] = spec.countries[c].talent;
  state.emigrants.assign(cn, 0.0);
  state.returns.assign(cn, 0.0);
  state.diaspora.assign(cn * cn, 0.0);
  state.remote.assign(cn * cn, 0.0);
  state.return_flow.assign(cn, 0.0);

  targets.target.assign(option_count, 0.0);
  targets.cap.assign(option_count, kUncapped);
  targets.reroute_share.assign(option_count, 0.0);
  targets.domestic_demand.assign(cells, 0.0);
  targets.input_availability.assign(cells, 1.0);
  targets.log_price.assign(option_count, 0.0);
  targets.lock_in.assign(option_count, 0.0);
  const std::size_t slot_options = option_lists.slot_initial_share.size();
  for (std::vector<double>* v :
       {&targets.slot_target, &targets.slot_reroute, &targets.slot_weight}) {
    v->assign(slot_options, 0.0);
  }
  targets.slot_cap.assign(slot_options, kUncapped);
  targets.slot_domestic_demand.assign(option_lists.slots(), 0.0);
  targets.slot_domestic_cap.assign(option_lists.slots(), 0.0);
  // Threads for the per-country phases where a step's work outweighs waking a helper: worlds of
  // W2's size (30,000 options) and up, and agent mode (the firms and the workers). The team
  // lives as long as the run, and its chunks (a country each) go to whichever thread is free,
  // so a core that another process holds slows the phase by one country's work, not by half.
  constexpr std::size_t kMinOptionsForTeam = 10'000;
  if (opts.threads > 1 && (option_count >= kMinOptionsForTeam || spec.mode == Mode::Agents)) {
    team = std::make_unique<WorkerTeam>(opts.threads);
    scratch.team = team.get();
  }
  scratch.workers.resize(team ? team->size() : 1);
  const std::size_t widest = std::max<std::size_t>(option_lists.max_count, 1);
  for (detail::CellWork& work : scratch.workers) {
    for (std::vector<double>* v :
         {&work.unrestricted_weight, &work.weight, &work.simple_cap, &work.trial_weight,
          &work.trial_cap, &work.trial_share, &work.log_price, &work.segment_lock_in,
          &work.segment_quantity, &work.segment_rest_quantity}) {
      v->assign(widest, 0.0);
    }
    work.fixed.assign(widest, 0);
  }
  last_fired.assign(spec.rules.size(), -1);

  frame.countries = spec.country_count();
  frame.sectors = spec.sector_count();
  frame.blocs = spec.bloc_count();
  for (std::vector<double>* v :
       {&frame.domestic_share, &frame.import_share, &frame.shortage, &frame.rerouted_share,
        &frame.hhi, &frame.critical, &frame.capacity, &frame.price_index,
        &frame.import_unit_value, &frame.import_value, &frame.compliance_gap}) {
    v->assign(cells, 0.0);
  }
  frame.supplier_share.assign(flows, 0.0);
  for (const auto& [metric, values] :
       {std::pair{Metric::ShipperShare, &frame.shipper_share},
        std::pair{Metric::SiteShare, &frame.site_share},
        std::pair{Metric::ImportValueByShipper, &frame.import_value_by_shipper},
        std::pair{Metric::ImportValueBySite, &frame.import_value_by_site},
        std::pair{Metric::ImportValueByBrand, &frame.import_value_by_brand},
        std::pair{Metric::InstalledBase, &frame.installed_base}}) {
    if (options.metrics == MetricScope::All || scenario_reads_metric(spec, metric)) {
      values->assign(flows, 0.0);
    }
  }
  frame.bloc_share.assign(cells * static_cast<std::size_t>(spec.bloc_count()), 0.0);
  frame.segments = spec.segment_count();
  const std::size_t segment_cells = cells * spec.segments.size();
  for (std::vector<double>* v :
       {&frame.segment_domestic_share, &frame.segment_import_share, &frame.segment_shortage,
        &frame.segment_compliance_gap}) {
    v->assign(segment_cells, 0.0);
  }
  frame.segment_supplier_share.assign(segment_cells * cn, 0.0);
  for (std::vector<double>* v :
       {&frame.talent, &frame.emigrants, &frame.returns, &frame.diaspora, &frame.sovereignty,
        &frame.remote_workers, &frame.return_flow}) {
    v->assign(cn, 0.0);
  }
  frame.diaspora_by_destination.assign(cn * cn, 0.0);
  frame.distrust.assign(cn * cn, 0.0);

  // Total dependency only where someone reads it: the recorded outputs or a rule's condition.
  bool dependency_wanted = metric_selected(spec.outputs, Metric::TotalDependency);
  std::vector<int> focus = spec.outputs.countries;
  bool rules_read_it = false;
  for (const RuleSpec& rule : spec.rules) {
    if (rule.metric != Metric::TotalDependency) continue;
    rules_read_it = true;
    focus.push_back(rule.country);
  }
  if (dependency_wanted && spec.outputs.countries.empty()) focus.clear();
  if (!dependency_wanted && rules_read_it) {
    const auto outputs = static_cast<std::ptrdiff_t>(spec.outputs.countries.size());
    focus.erase(focus.begin(), focus.begin() + outputs);
  }
  std::sort(focus.begin(), focus.end());
  focus.erase(std::unique(focus.begin(), focus.end()), focus.end());
  if (dependency_wanted || rules_read_it) {
    dependency.emplace(spec.country_count(), spec.sector_count(), std::move(focus), opts.threads,
                       team.get());
    frame.total_dependency.assign(flows, std::numeric_limits<double>::quiet_NaN());
  }

  // Which frames are computed after their step, whoever asks: all of them for interactive
  // callers and rules; for recorded runs the recorded and observed steps. Total dependency warm-
  // starts from the last frame computed, so a fixed set of steps makes its results independent
  // of when callers look.
  if (opts.frames == FrameSchedule::EveryStep || !spec.rules.empty()) {
    eager.assign(static_cast<std::size_t>(std::max(0, spec.time.steps)) + 1, 1);
  } else {
    eager = recorded_or_observed_steps(spec);
  }

  detail::effective_ends(events, ends);
  detail::apply_events(spec, events, ends, 0, false, params, policy, state.capability, scratch);
  check(Phase::Events);
  update_option_policy();
  check(Phase::Routes);
  // Entry answers restrictions imposed after the start: what was restricted at t = 0 is part of
  // the market entrants found closed.
  calibration.opening0.assign(cells, 0.0);
  for (std::size_t cell = 0; cell < cells; ++cell) {
    for (std::size_t o = option_lists.first[cell]; o < option_lists.first[cell + 1]; ++o) {
      calibration.opening0[cell] += option_policy.restricted_supply[o];
    }
  }
  // Vendors cut off before the start are already gone as far as they are cut off (so the start
  // stays a fixed point); lasting distrust answers what suppliers do after it.
  for (std::size_t o = 0; o < option_count; ++o) {
    if (!option_lists.entrant[o]) state.presence[o] = option_policy.open_by_policy[o];
  }
  calibration.supplier_cut0.assign(cn * cn, 0.0);
  detail::supplier_cut_by_pair(spec, option_lists, option_policy, calibration.supplier_cut0);
  calibration.distrust0 = policy.distrust;
  calibrate();
  // Flows rerouted by restrictions already in force are part of the start (docs/model.md,
  // "Calibration"): the state at t = 0 shows them.
  for (std::size_t o = 0; o < option_count; ++o) {
    state.rerouted[o] = state.share[o] * targets.reroute_share[o];
  }
  calibration.imports0.resize(cells);
  for (std::size_t cell = 0; cell < cells; ++cell) {
    calibration.imports0[cell] =
        detail::cell_imports(spec, scratch.log_tables, option_lists, option_policy, state, cell,
                             scratch.workers[0].trial_share);
  }
  if (spec.mode == Mode::Agents) {
    agents = detail::make_agent_populations(spec, calibration.options, seed);
  }
  ensure_metrics();
}

void Simulation::Impl::calibrate() {
  const std::size_t cn = spec.countries.size();
  const detail::OptionLists& lists = calibration.options;
  calibration.log_alpha.assign(lists.size(), -std::numeric_limits<double>::infinity());
  calibration.cap_scale.assign(lists.size(), 1.0);
  calibration.slot_log_alpha.assign(lists.slot_initial_share.size(),
                                    -std::numeric_limits<double>::infinity());
  calibration.slot_cap_scale.assign(lists.slot_initial_share.size(), 1.0);
  calibration.log_price_level0.assign(spec.sectors.size() * cn, 0.0);
  std::vector<Diagnostic> problems;

  // The CES weights that reproduce `initial` (one share per option of the cell) at the start's
  // prices and restrictions, for the cell's whole buyer or one of its segments.
  // A served-first segment sees restrictions as quantity limits only (`wedge_free`).
  const auto fit_weights = [&](std::size_t cell, SectorId s, double sigma,
                               std::span<const double> initial, std::span<const double> log_price,
                               std::span<const double> lock_in, std::span<double> log_alpha,
                               bool wedge_free) {
    const std::size_t first = lists.first[cell];
    for (std::size_t o = 0; o < lists.count(cell); ++o) {
      const std::size_t i = first + o;
      if (lists.entrant[i]) {
        // At full entry and its start price an entrant weighs its world market share against
        // the incumbents' total weight (1 - U0, about 1); buyers' switching costs and the
        // incumbents' network still stand in its way (not calibrated away).
        const double world =
            spec.world_supply[static_cast<std::size_t>(s) * cn +
                              static_cast<std::size_t>(lists.origin[i])];
        log_alpha[o] = std::log(world) + sigma * (log_price[o] - lock_in[o]);
        continue;
      }
      if (!(initial[o] > 0.0)) continue;
      const double wedge =
          static_cast<std::int32_t>(o) == lists.domestic[cell] || wedge_free
              ? 1.0
              : restriction_wedge(option_policy.restriction[i], option_policy.evasion[i],
                                  option_policy.multiplier[i], -sigma);
      if (!(wedge > 0.0)) {
        Diagnostic& problem = problems.emplace_back();
        problem.where.file = spec.file;
        problem.key_path = "supply";
        problem.kind = "restricted-initial-supply";
        problem.message =
            fmt::format("supply {}: initial share {} from an option that is fully restricted "
                        "at the start with no route; expected 0",
                        option_name(i), initial[o]);
        continue;
      }
      // alpha = S0 / omega0 in log space: omega0 = p0^-sigma * wedge.
      log_alpha[o] = std::log(initial[o]) + sigma * log_price[o] - std::log(wedge);
    }
  };

  detail::refresh_log_price_tables(params, scratch.log_tables);
  for (CountryId c = 0; c < spec.country_count(); ++c) {
    for (SectorId s = 0; s < spec.sector_count(); ++s) {
      const double sigma = params.sectors[static_cast<std::size_t>(s)].elasticity;
      const std::size_t cell = spec.cell_index(c, s);
      const std::size_t first = lists.first[cell];
      const std::size_t n = lists.count(cell);
      const std::span<double> log_price(targets.log_price.data() + first, n);
      const std::span<double> lock_in(targets.lock_in.data() + first, n);
      detail::fill_log_prices(spec, params, policy, scratch.log_tables, lists, state, c, s,
                              log_price, lock_in);
      fit_weights(cell, s, sigma, std::span<const double>(lists.initial_share.data() + first, n),
                  log_price, lock_in,
                  std::span<double>(calibration.log_alpha.data() + first, n), false);
      for (std::size_t slot = lists.slot_first[cell]; slot < lists.slot_first[cell + 1]; ++slot) {
        const SegmentSpec& segment =
            spec.segments[static_cast<std::size_t>(lists.slot_segment[slot])];
        detail::CellWork& work = scratch.workers[0];
        const std::span<double> segment_price(work.log_price.data(), n);
        const std::span<double> segment_lock_in(work.segment_lock_in.data(), n);
        detail::fill_log_prices(spec, params, policy, scratch.log_tables, lists, state, c, s,
                                segment_price, segment_lock_in, segment.security_sensitivity);
        const std::size_t at = lists.slot_option_first[slot];
        fit_weights(cell, s, sigma * segment.elasticity,
                    std::span<const double>(lists.slot_initial_share.data() + at, n),
                    segment_price, segment_lock_in,
                    std::span<double>(calibration.slot_log_alpha.data() + at, n),
                    segment.served_first);
      }
    }
  }
  if (!problems.empty()) throw ScenarioError(std::move(problems));

  // Restrictions in force at t = 0 must not push the start off its shares: where a cap computed
  // from the nominal restriction is below the observed share, scale it up to that share
  // (docs/model.md, "caps at t = 0").
  detail::compute_targets(spec, params, policy, option_policy, calibration, state, targets,
                          scratch);
  for (std::size_t cell = 0; cell < lists.first.size() - 1; ++cell) {
    for (std::size_t o = lists.first[cell]; o < lists.first[cell + 1]; ++o) {
      const double cap = targets.cap[o];
      const bool domestic =
          o - lists.first[cell] == static_cast<std::size_t>(lists.domestic[cell]);
      if (std::isfinite(cap) && !domestic && cap > 0.0) {
        calibration.cap_scale[o] = std::max(1.0, lists.initial_share[o] / cap);
      }
    }
    for (std::size_t slot = lists.slot_first[cell]; slot < lists.slot_first[cell + 1]; ++slot) {
      const std::size_t at = lists.slot_option_first[slot];
      for (std::size_t o = 0; o < lists.count(cell); ++o) {
        const double cap = targets.slot_cap[at + o];
        if (std::isfinite(cap) && static_cast<std::int32_t>(o) != lists.domestic[cell] &&
            cap > 0.0) {
          calibration.slot_cap_scale[at + o] =
              std::max(1.0, lists.slot_initial_share[at + o] / cap);
        }
      }
    }
  }
  detail::compute_targets(spec, params, policy, option_policy, calibration, state, targets,
                          scratch);
  check(Phase::Targets);

  for (CountryId c = 0; c < spec.country_count(); ++c) {
    for (SectorId s = 0; s < spec.sector_count(); ++s) {
      const std::size_t cell = spec.cell_index(c, s);
      const std::span<const double> log_price(targets.log_price.data() + lists.first[cell],
                                              lists.count(cell));
      calibration.log_price_level0[cell] =
          detail::log_price_level(spec, params, option_policy, calibration, c, s, log_price);
    }
  }
}

void Simulation::Impl::update_option_policy() {
  detail::update_option_policy(spec, events, params, policy, calibration.options,
                               state.hub_capacity, state.entry, state.presence,
                               state.grey_evasion,
                               static_cast<int>(scratch.workers.size()), option_policy);
}

void Simulation::Impl::grow_entry() {
  // A brand new to the buyer enters as the market opens: the demand its incumbents can no longer
  // serve beyond what was restricted at the start, at the sector's entry speed, slowed by the
  // risk of secondary sanctions (docs/model.md, Entry). Entry is not undone when the market
  // closes again: the brand keeps its distributors and its place.
  const detail::OptionLists& lists = calibration.options;
  bool moved = false;
  for (std::size_t cell = 0; cell + 1 < lists.first.size(); ++cell) {
    const std::size_t first = lists.first[cell];
    const std::size_t end = lists.first[cell + 1];
    if (std::none_of(lists.entrant.begin() + static_cast<std::ptrdiff_t>(first),
                     lists.entrant.begin() + static_cast<std::ptrdiff_t>(end),
                     [](unsigned char flag) { return flag != 0; })) {
      continue;
    }
    double restricted = 0.0;
    for (std::size_t o = first; o < end; ++o) restricted += option_policy.restricted_supply[o];
    const double opening = std::max(0.0, restricted - calibration.opening0[cell]);
    if (!(opening > 0.0)) continue;
    const auto buyer = static_cast<CountryId>(cell / spec.sectors.size());
    const auto sector = static_cast<SectorId>(cell % spec.sectors.size());
    const double speed = params.sectors[static_cast<std::size_t>(sector)].entry_speed;
    for (std::size_t o = first; o < end; ++o) {
      if (!lists.entrant[o] || state.entry[o] >= 1.0) continue;
      const double risk =
          detail::secondary_sanctions_risk(events, policy, buyer, sector, lists.origin[o]);
      const double gain = speed * opening * (1.0 - risk) * (1.0 - state.entry[o]);
      if (!(gain > 0.0)) continue;
      state.entry[o] = std::min(1.0, state.entry[o] + gain);
      moved = true;
    }
  }
  if (moved) ++policy.route_version;
}

void Simulation::Impl::grow_hub_capacity() {
  // Broker networks form where goods are relayed: a hub that carried rerouted flow this step
  // gains part of its missing capacity. Routes read the capacity, so they are searched again.
  const double growth = spec.routes.broker_growth;
  if (!(growth > 0.0)) return;
  const RouteTable& routes = option_policy.routes;
  std::vector<unsigned char> relayed(state.hub_capacity.size(), 0);
  for (std::size_t o = 0; o < state.rerouted.size(); ++o) {
    if (!(state.rerouted[o] > 0.0) || option_policy.route[o] < 0) continue;
    const auto r = static_cast<std::size_t>(option_policy.route[o]);
    for (std::size_t q = routes.first[r]; q < routes.first[r + 1]; ++q) {
      relayed[static_cast<std::size_t>(routes.hub[q])] = 1;
    }
  }
  bool moved = false;
  for (std::size_t h = 0; h < relayed.size(); ++h) {
    double& capacity = state.hub_capacity[h];
    if (!relayed[h] || capacity >= 1.0) continue;
    capacity = std::min(1.0, capacity + growth * (1.0 - capacity));
    moved = true;
  }
  if (moved) ++policy.route_version;
}

void Simulation::Impl::record_metrics() {
  frame.step = step;
  detail::compute_metrics(spec, params, policy, option_policy, calibration, targets, state,
                          dependency ? &*dependency : nullptr, scratch, frame);
}

void Simulation::Impl::ensure_metrics() {
  if (frame_step == step) return;
  record_metrics();
  frame_step = step;
  check(Phase::Metrics);
}

void Simulation::Impl::run_step() {
  detail::apply_events(spec, events, ends, step, true, params, policy, state.capability, scratch);
  check(Phase::Events);
  update_option_policy();
  check(Phase::Routes);
  detail::compute_targets(spec, params, policy, option_policy, calibration, state, targets,
                          scratch);
  check(Phase::Targets);
  if (agents) {
    detail::update_firm_shares(spec, params, policy, option_policy, calibration, targets, step,
                               scratch.team, *agents, state);
  } else {
    detail::update_shares(spec, params, calibration.options, targets, scratch.team, state);
  }
  check(Phase::Shares);
  grow_hub_capacity();
  grow_entry();
  if (detail::update_lock_in(spec, params, policy, calibration.options, option_policy, calibration,
                             state, scratch.pair_drive)) {
    ++policy.route_version;
  }
  detail::update_capability(spec, params, policy, calibration.options, events, targets, state,
                            scratch);
  check(Phase::Capability);
  if (agents) {
    detail::update_worker_talent(spec, params, policy, calibration.options, option_policy,
                                 events, step, scratch.team, *agents, state);
  } else {
    detail::update_talent(spec, params, policy, calibration.options, option_policy, events, state,
                          scratch);
  }
  check(Phase::Talent);
  ++step;
  if (static_cast<std::size_t>(step) < eager.size() && eager[static_cast<std::size_t>(step)]) {
    ensure_metrics();
  }
  if (spec.rules.empty()) return;
  evaluate_rules();
  check(Phase::Rules);
}

double Simulation::Impl::rule_value(const RuleSpec& rule) const {
  const MetricShape shape = metric_info(rule.metric).shape;
  const int partner = shape == MetricShape::CountrySectorBloc ? rule.bloc : rule.partner;
  if (shape == MetricShape::Country || shape == MetricShape::CountryPartner) {
    return frame.value(rule.metric, rule.country, -1, partner);
  }
  // A partner metric named by a bloc is the sum over its members.
  const auto cell_value = [&](SectorId s) {
    if (shape != MetricShape::CountrySectorPartner || rule.bloc < 0) {
      return frame.value(rule.metric, rule.country, s, partner);
    }
    double sum = 0.0;
    for (const CountryId member : spec.blocs[static_cast<std::size_t>(rule.bloc)].members) {
      sum += frame.value(rule.metric, rule.country, s, member);
    }
    return sum;
  };
  if (rule.sector >= 0) return cell_value(rule.sector);
  // No sector named: the sector-weighted mean (weights d of the country).
  double sum = 0.0;
  const CountrySpec& country = spec.countries[static_cast<std::size_t>(rule.country)];
  for (SectorId s = 0; s < spec.sector_count(); ++s) {
    sum += detail::sector_weight(country, s, spec.sector_count()) * cell_value(s);
  }
  return sum;
}

void Simulation::Impl::evaluate_rules() {
  bool added = false;
  for (std::size_t r = 0; r < spec.rules.size(); ++r) {
    const RuleSpec& rule = spec.rules[r];
    const double value = rule_value(rule);
    const bool holds = rule.comparison == RuleComparison::Above ? value > rule.threshold
                                                                 : value < rule.threshold;
    if (!holds) continue;
    if (last_fired[r] >= 0 && (rule.once || step - last_fired[r] < rule.cooldown_steps)) continue;
    last_fired[r] = step;
    EventSpec event = rule.then;
    event.id = fmt::format("{}@{}", rule.id, step);
    event.at_step = step + rule.then.at_step;
    event.until_step = rule.then.until_step >= 0 ? step + rule.then.until_step : -1;
    event.end_step = rule.then.end_step >= 0 ? step + rule.then.end_step : -1;
    if (event.source.empty()) event.source = rule.source;
    firings.push_back({step, rule.id, value, event.id});
    events.push_back(std::move(event));
    added = true;
  }
  if (added) detail::effective_ends(events, ends);
}

Simulation::Simulation(ScenarioSpec spec, SimulationOptions options)
    : impl_(std::make_unique<Impl>(std::move(spec), options)) {}
Simulation::~Simulation() = default;
Simulation::Simulation(Simulation&&) noexcept = default;
Simulation& Simulation::operator=(Simulation&&) noexcept = default;

int Simulation::step_index() const { return impl_->step; }
bool Simulation::finished() const { return impl_->step >= impl_->spec.time.steps; }
void Simulation::step() { impl_->run_step(); }
const MetricsFrame& Simulation::metrics() const {
  impl_->ensure_metrics();
  return impl_->frame;
}
const std::vector<RuleFiring>& Simulation::rule_firings() const { return impl_->firings; }
const ScenarioSpec& Simulation::spec() const { return impl_->spec; }
std::uint64_t Simulation::run_seed() const { return impl_->seed; }

SupplyNetwork Simulation::supply_network(SectorId sector) const {
  const Impl& self = *impl_;
  const ScenarioSpec& spec = self.spec;
  SupplyNetwork network;
  network.step = self.step;
  network.date = step_label(spec.time, self.step);
  network.sector = spec.sectors.at(static_cast<std::size_t>(sector)).id;
  for (const CountrySpec& country : spec.countries) network.countries.push_back(country.id);
  const detail::OptionLists& options = self.calibration.options;
  const RouteTable& routes = self.option_policy.routes;
  for (CountryId c = 0; c < spec.country_count(); ++c) {
    const std::size_t cell = spec.cell_index(c, sector);
    for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
      const CountryId k = options.origin[o];
      if (k == c) continue;
      const double rerouted = self.state.rerouted[o];
      const double direct = self.state.share[o] - rerouted;
      const int shipper = options.shipper[o];
      // The shipping hub of the declared path (Hong Kong for chips made in China) relays it.
      if (direct > 0.0) {
        network.flows.push_back({k, shipper == k || shipper == c ? -1 : shipper, c, direct});
      }
      if (rerouted > 0.0 && self.option_policy.route[o] >= 0) {
        const auto r = static_cast<std::size_t>(self.option_policy.route[o]);
        for (std::size_t q = routes.first[r]; q < routes.first[r + 1]; ++q) {
          network.flows.push_back({k, routes.hub[q], c, rerouted * routes.fraction[q]});
        }
      }
    }
  }
  return network;
}

}  // namespace techdep
