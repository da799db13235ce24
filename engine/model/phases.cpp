#include "model/phases.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "techdep/core/parallel.hpp"
#include "techdep/matrix/ces_targets.hpp"

namespace techdep::detail {
namespace {

// Rounding may leave shares a few ulps below zero; anything lower is a real error for the
// invariant check to report.
constexpr double kRoundingSlack = 1e-12;

double clamp_rounding(double value) {
  return (value < 0.0 && value > -kRoundingSlack) ? 0.0 : value;
}

std::size_t idx(std::size_t row, std::size_t width, std::size_t column) {
  return row * width + column;
}

// Calls fn(sector) for each sector an event names, or for every sector when it names none.
template <class Fn>
void for_sectors(const EventSpec& event, int sectors, Fn&& fn) {
  if (event.sectors.empty()) {
    for (SectorId s = 0; s < sectors; ++s) fn(s);
  } else {
    for (const SectorId s : event.sectors) fn(s);
  }
}

double* parameter_slot(const ParamRef& ref, Parameters& params, int sectors, int countries) {
  const auto c = static_cast<std::size_t>(ref.country);
  const auto s = static_cast<std::size_t>(ref.sector);
  switch (ref.kind) {
    case ParamRef::Kind::SectorElasticity: return &params.sectors[s].elasticity;
    case ParamRef::Kind::SectorAdjustment: return &params.sectors[s].adjustment;
    case ParamRef::Kind::SectorCapacityGrowth: return &params.sectors[s].capacity_growth;
    case ParamRef::Kind::SectorDepreciation: return &params.sectors[s].depreciation;
    case ParamRef::Kind::SectorTalentIntensity: return &params.sectors[s].talent_intensity;
    case ParamRef::Kind::SectorSecuritySensitivity: return &params.sectors[s].security_sensitivity;
    case ParamRef::Kind::SectorDemandPull: return &params.sectors[s].demand_pull;
    case ParamRef::Kind::SectorLearning: return &params.sectors[s].learning;
    case ParamRef::Kind::CountrySanctionPush: return &params.sanction_push[c];
    case ParamRef::Kind::CountryBaseEmigration: return &params.base_emigration[c];
    case ParamRef::Kind::CountryReturnRate: return &params.return_rate[c];
    case ParamRef::Kind::CountryTrainingRate: return &params.training_rate[c];
    case ParamRef::Kind::Price:
      return &params.price[idx(c, static_cast<std::size_t>(sectors), s)];
    case ParamRef::Kind::TradeCost:
      return &params.trade_cost[idx(c, static_cast<std::size_t>(countries),
                                    static_cast<std::size_t>(ref.partner))];
    case ParamRef::Kind::RerouteMarkup: return &params.reroute_markup;
  }
  return nullptr;
}

void reset_parameters(const ScenarioSpec& spec, Parameters& params) {
  const std::size_t countries = spec.countries.size();
  params.sectors.resize(spec.sectors.size());
  for (std::size_t s = 0; s < spec.sectors.size(); ++s) {
    // Numeric fields only: copying the strings would allocate every step.
    SectorSpec& to = params.sectors[s];
    const SectorSpec& from = spec.sectors[s];
    to.elasticity = from.elasticity;
    to.adjustment = from.adjustment;
    to.capacity_growth = from.capacity_growth;
    to.depreciation = from.depreciation;
    to.talent_intensity = from.talent_intensity;
    to.security_sensitivity = from.security_sensitivity;
    to.demand_pull = from.demand_pull;
    to.learning = from.learning;
  }
  params.sanction_push.resize(countries);
  params.base_emigration.resize(countries);
  params.return_rate.resize(countries);
  params.training_rate.resize(countries);
  for (std::size_t c = 0; c < countries; ++c) {
    params.sanction_push[c] = spec.countries[c].sanction_push;
    params.base_emigration[c] = spec.countries[c].base_emigration;
    params.return_rate[c] = spec.countries[c].return_rate;
    params.training_rate[c] = spec.countries[c].training_rate;
  }
  params.price.assign(spec.price.begin(), spec.price.end());
  params.trade_cost.assign(spec.trade_cost.begin(), spec.trade_cost.end());
  params.reroute_markup = spec.reroute_markup;
}

// Whether an event's strength enters R, e, tau or mu, the inputs of the route search.
bool moves_routes(const EventSpec& event) {
  switch (event.type) {
    case EventType::ExportControl:
    case EventType::ImportBan:
    case EventType::Enforcement:
    case EventType::Agreement:
      return true;
    case EventType::Set:
      return event.parameter.kind == ParamRef::Kind::TradeCost ||
             event.parameter.kind == ParamRef::Kind::RerouteMarkup;
    case EventType::CyberIncident:
    case EventType::Investment:
    case EventType::Mandate:
    case EventType::ExitRestriction:
    case EventType::EmigrationWave:
    case EventType::Lift:
      return false;
  }
  return true;
}

// Destination weights of leavers from `origin`: `weights` when it has mass abroad, else none (the
// leavers are counted in the diaspora with an unknown destination).
double abroad_weight(std::span<const double> weights, std::size_t origin) {
  double total = 0.0;
  for (std::size_t j = 0; j < weights.size(); ++j) {
    if (j != origin) total += weights[j];
  }
  return total;
}

void send_leavers(std::span<const double> weights, std::size_t origin, double leavers,
                  std::span<double> diaspora_row, std::span<double> flow) {
  const double total = abroad_weight(weights, origin);
  if (!(total > 0.0)) {
    diaspora_row[origin] += leavers;
    return;
  }
  for (std::size_t j = 0; j < weights.size(); ++j) {
    if (j == origin || weights[j] <= 0.0) continue;
    const double moved = leavers * weights[j] / total;
    diaspora_row[j] += moved;
    flow[j] += moved;
  }
}

}  // namespace

double sector_weight(const CountrySpec& country, SectorId sector, int sectors) {
  // Specs built in code may leave the weights out; the loader's default is equal weights.
  if (country.sector_weights.empty()) return 1.0 / static_cast<double>(sectors);
  return country.sector_weights[static_cast<std::size_t>(sector)];
}

double event_strength(const EventSpec& event, int effective_end, int step) {
  if (step < event.at_step || step >= effective_end) return 0.0;
  if (event.until_step <= event.at_step) return 1.0;
  return std::min(1.0, static_cast<double>(step - event.at_step) /
                           static_cast<double>(event.until_step - event.at_step));
}

void effective_ends(std::span<const EventSpec> events, std::vector<int>& ends) {
  ends.resize(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    ends[i] = events[i].end_step >= 0 ? events[i].end_step : kNoEnd;
  }
  for (const EventSpec& event : events) {
    if (event.type != EventType::Lift || event.lifted_event < 0) continue;
    const auto target = static_cast<std::size_t>(event.lifted_event);
    if (target < ends.size()) ends[target] = std::min(ends[target], event.at_step);
  }
}

void apply_events(const ScenarioSpec& spec, std::span<const EventSpec> events,
                  std::span<const int> ends, int step, bool apply_one_offs, Parameters& params,
                  Policy& policy, std::span<double> capability, Scratch& scratch) {
  const int countries = spec.country_count();
  const int sectors = spec.sector_count();
  const auto cn = static_cast<std::size_t>(countries);
  const auto sn = static_cast<std::size_t>(sectors);

  policy.event_strength.resize(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    policy.event_strength[i] = event_strength(events[i], ends[i], step);
  }

  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    if (event.type == EventType::CyberIncident && apply_one_offs && step == event.at_step &&
        step < ends[i] && event.capacity_hit > 0.0) {
      for (const CountryId target : event.to) {
        for_sectors(event, sectors, [&](SectorId s) {
          capability[spec.cell_index(target, s)] *= 1.0 - event.capacity_hit;
        });
      }
    }
  }

  // Parameters and policy are functions of the event strengths alone: between ramps (most steps)
  // they are what the last step built, and rebuilding the flow-sized arrays would cost more than
  // the rest of the step.
  if (!policy.restriction.empty() && scratch.strength_prev == policy.event_strength) return;
  // Routes read R, e, tau and mu: they move only with the events that set those.
  bool routes_changed = policy.restriction.empty() ||
                        scratch.strength_prev.size() != policy.event_strength.size();
  for (std::size_t i = 0; i < events.size() && !routes_changed; ++i) {
    routes_changed =
        moves_routes(events[i]) && scratch.strength_prev[i] != policy.event_strength[i];
  }
  scratch.strength_prev = policy.event_strength;

  reset_parameters(spec, params);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    const double strength = policy.event_strength[i];
    if (event.type != EventType::Set || strength <= 0.0) continue;
    if (double* slot = parameter_slot(event.parameter, params, sectors, countries)) {
      *slot += strength * (event.value - *slot);
    }
  }

  // `restriction` first holds the open fraction prod(1 - r) of every flow: independent controls
  // on the same flow compound (R = 1 - (1 - Re)(1 - Ri), model.md section 3).
  policy.restriction.assign(cn * sn * cn, 1.0);
  policy.evasion.assign(cn * sn * cn, 0.0);
  policy.distrust.assign(spec.distrust.begin(), spec.distrust.end());
  policy.investment.assign(cn * sn, 0.0);
  policy.mandate.assign(cn * sn, 0.0);
  policy.exit_restriction.assign(cn, 0.0);

  auto restrict = [&](CountryId origin, CountryId buyer, SectorId sector, double amount) {
    if (origin == buyer) return;
    policy.restriction[spec.supply_index(buyer, sector, origin)] *= 1.0 - amount;
  };

  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    const double strength = policy.event_strength[i];
    if (strength <= 0.0) continue;
    switch (event.type) {
      case EventType::ExportControl:
        for (const CountryId origin : event.from) {
          for (const CountryId buyer : event.to) {
            for_sectors(event, sectors, [&](SectorId s) {
              restrict(origin, buyer, s, event.intensity * strength);
              double& evasion = policy.evasion[spec.supply_index(buyer, s, origin)];
              evasion = std::max(evasion, event.evasion);
            });
          }
        }
        break;
      case EventType::ImportBan:
      case EventType::Enforcement: {
        // import_ban: `to` bans imports from `from`; enforcement: hubs `from` may no longer ship
        // to the targets `to`. Both restrict the flow from -> to.
        const double amount =
            (event.type == EventType::ImportBan ? event.intensity : event.level) * strength;
        for (const CountryId origin : event.from) {
          for (const CountryId buyer : event.to) {
            for_sectors(event, sectors, [&](SectorId s) { restrict(origin, buyer, s, amount); });
          }
        }
        break;
      }
      case EventType::CyberIncident:
        for (const CountryId target : event.to) {
          for (const CountryId attributed : event.from) {
            policy.distrust[spec.pair_index(target, attributed)] += event.distrust * strength;
          }
        }
        break;
      case EventType::Investment:
        for (const CountryId c : event.to) {
          for_sectors(event, sectors, [&](SectorId s) {
            double& value = policy.investment[spec.cell_index(c, s)];
            value = std::min(1.0, value + event.intensity * strength);
          });
        }
        break;
      case EventType::Mandate:
        for (const CountryId c : event.to) {
          for_sectors(event, sectors, [&](SectorId s) {
            double& value = policy.mandate[spec.cell_index(c, s)];
            value = std::max(value, event.domestic_share * strength);
          });
        }
        break;
      case EventType::ExitRestriction:
        for (const CountryId c : event.to) {
          double& value = policy.exit_restriction[static_cast<std::size_t>(c)];
          value = std::max(value, event.level * strength);
        }
        break;
      case EventType::Agreement:
      case EventType::EmigrationWave:
      case EventType::Lift:
      case EventType::Set:
        break;
    }
  }

  // Agreements act after the incidents so that `trust` removes a share of all distrust, old and
  // new. tau has no sector index, so the cut applies to every sector.
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    const double strength = policy.event_strength[i];
    if (event.type != EventType::Agreement || strength <= 0.0) continue;
    for (const CountryId a : event.from) {
      for (const CountryId b : event.from) {
        if (a == b) continue;
        double& tau = params.trade_cost[spec.pair_index(a, b)];
        tau = 1.0 + (tau - 1.0) * (1.0 - event.trade_cost_cut * strength);
        policy.distrust[spec.pair_index(a, b)] *= 1.0 - event.trust * strength;
      }
    }
  }

  for (double& value : policy.restriction) value = 1.0 - value;
  if (routes_changed) ++policy.route_version;
}

void update_routes(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                   int threads, RouteTable& routes, std::uint64_t& version) {
  if (version == policy.route_version && !routes.multiplier.empty()) return;
  const RouteInputs inputs{spec.country_count(), spec.sector_count(), policy.restriction,
                           policy.evasion,        params.trade_cost,   params.reroute_markup,
                           threads};
  find_routes(inputs, routes);
  version = policy.route_version;
}

void build_option_lists(const ScenarioSpec& spec, OptionLists& options) {
  const std::size_t cn = spec.countries.size();
  const std::size_t cells = cn * spec.sectors.size();
  options.first.assign(cells + 1, 0);
  options.origin.clear();
  options.domestic.assign(cells, 0);
  for (std::size_t cell = 0; cell < cells; ++cell) {
    const std::size_t buyer = cell / spec.sectors.size();
    options.first[cell] = options.origin.size();
    for (std::size_t k = 0; k < cn; ++k) {
      if (k == buyer) {
        options.domestic[cell] =
            static_cast<std::int32_t>(options.origin.size() - options.first[cell]);
      } else if (!(spec.supply[cell * cn + k] > 0.0)) {
        continue;
      }
      options.origin.push_back(static_cast<std::int32_t>(k));
    }
  }
  options.first[cells] = options.origin.size();
}

void build_input_lists(const ScenarioSpec& spec, Calibration& calibration) {
  const int sectors = spec.sector_count();
  calibration.input_first.assign(static_cast<std::size_t>(sectors) + 1, 0);
  calibration.input_sector.clear();
  for (SectorId s = 0; s < sectors; ++s) {
    for (SectorId input = 0; input < sectors; ++input) {
      if (spec.inputs[spec.input_index(input, s)] != 0.0) calibration.input_sector.push_back(input);
    }
    calibration.input_first[static_cast<std::size_t>(s) + 1] = calibration.input_sector.size();
  }
}

void refresh_log_price_tables(const Parameters& params, LogPriceTables& tables) {
  tables.price.resize(params.price.size());
  for (std::size_t i = 0; i < params.price.size(); ++i) tables.price[i] = std::log(params.price[i]);
  tables.trade_cost.resize(params.trade_cost.size());
  for (std::size_t i = 0; i < params.trade_cost.size(); ++i) {
    tables.trade_cost[i] = std::log(params.trade_cost[i]);
  }
}

double domestic_log_price(const ScenarioSpec& spec, const Parameters& params,
                          const LogPriceTables& tables, std::span<const double> capability,
                          CountryId buyer, SectorId sector) {
  // Learning: capability built lowers the domestic price, which keeps import substitution alive
  // after sanctions are lifted.
  const std::size_t cell = spec.cell_index(buyer, sector);
  return tables.price[idx(static_cast<std::size_t>(buyer), spec.sectors.size(),
                          static_cast<std::size_t>(sector))] -
         params.sectors[static_cast<std::size_t>(sector)].learning *
             (capability[cell] - spec.capability[cell]);
}

void fill_log_prices(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const LogPriceTables& tables, const OptionLists& options,
                     std::span<const double> capability, CountryId buyer, SectorId sector,
                     std::span<double> log_price) {
  const double sensitivity = params.sectors[static_cast<std::size_t>(sector)].security_sensitivity;
  const std::size_t sn = spec.sectors.size();
  const std::size_t cell = spec.cell_index(buyer, sector);
  const std::size_t first = options.first[cell];
  const std::size_t count = options.count(cell);
  for (std::size_t o = 0; o < count; ++o) {
    const CountryId k = options.origin[first + o];
    if (k == buyer) {
      log_price[o] = domestic_log_price(spec, params, tables, capability, buyer, sector);
      continue;
    }
    log_price[o] = tables.price[idx(static_cast<std::size_t>(k), sn,
                                    static_cast<std::size_t>(sector))] +
                   tables.trade_cost[spec.pair_index(k, buyer)] +
                   std::log1p(sensitivity * policy.distrust[spec.pair_index(buyer, k)]);
  }
}

void gather_option_policy(const ScenarioSpec& spec, const Policy& policy, const RouteTable& routes,
                          const OptionLists& options, OptionPolicy& gathered) {
  if (gathered.route_version == policy.route_version) return;
  const std::size_t cn = spec.countries.size();
  const std::size_t cells = options.first.size() - 1;
  for (std::vector<double>* v : {&gathered.restriction, &gathered.evasion, &gathered.multiplier,
                                 &gathered.restricted_supply}) {
    v->resize(options.size());
  }
  for (std::size_t cell = 0; cell < cells; ++cell) {
    for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
      const std::size_t flow = cell * cn + static_cast<std::size_t>(options.origin[o]);
      gathered.restriction[o] = policy.restriction[flow];
      gathered.evasion[o] = policy.evasion[flow];
      gathered.multiplier[o] = routes.multiplier[flow];
      gathered.restricted_supply[o] = spec.supply[flow] * policy.restriction[flow];
    }
  }
  gathered.route_version = policy.route_version;
}

void compute_targets(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const OptionPolicy& option_policy, const Calibration& calibration,
                     const ModelState& state, Targets& targets, Scratch& scratch) {
  const int sectors = spec.sector_count();
  const OptionLists& options = calibration.options;
  refresh_log_price_tables(params, scratch.log_tables);
  parallel_blocks(spec.countries.size(), scratch.workers.size(),
                  [&](std::size_t begin, std::size_t end, std::size_t worker) {
    CellWork& work = scratch.workers[worker];
    for (auto c = static_cast<CountryId>(begin); c < static_cast<CountryId>(end); ++c) {
      for (SectorId s = 0; s < sectors; ++s) {
        // Inputs with a = 0 add exact zeros: skipped.
        double lost = 0.0;
        const auto column = static_cast<std::size_t>(s);
        for (std::size_t e = calibration.input_first[column];
             e < calibration.input_first[column + 1]; ++e) {
          const SectorId input = calibration.input_sector[e];
          lost +=
              spec.inputs[spec.input_index(input, s)] * state.shortage[spec.cell_index(c, input)];
        }
        targets.input_availability[spec.cell_index(c, s)] = std::clamp(1.0 - lost, 0.0, 1.0);
      }
      for (SectorId s = 0; s < sectors; ++s) {
        const std::size_t cell = spec.cell_index(c, s);
        const std::size_t first = options.first[cell];
        const std::size_t n = options.count(cell);
        const std::span<double> log_price(targets.log_price.data() + first, n);
        fill_log_prices(spec, params, policy, scratch.log_tables, options, state.capability, c, s,
                        log_price);
        auto options_of = [&](const std::vector<double>& v) {
          return std::span<const double>(v.data() + first, n);
        };
        auto scratch_of = [&](std::vector<double>& v) { return std::span<double>(v.data(), n); };
        auto out_of = [&](std::vector<double>& v) {
          return std::span<double>(v.data() + first, n);
        };
        const CellTargetInputs inputs{
            options.domestic[cell],
            params.sectors[static_cast<std::size_t>(s)].elasticity,
            options_of(calibration.log_alpha),
            log_price,
            options_of(option_policy.restriction),
            options_of(option_policy.evasion),
            options_of(option_policy.multiplier),
            options_of(calibration.cap_scale),
            state.capability[cell] * targets.input_availability[cell],
            policy.mandate[cell]};
        CellTargetScratch cell_scratch{scratch_of(work.unrestricted_weight),
                                       scratch_of(work.weight),
                                       scratch_of(work.simple_cap),
                                       scratch_of(work.trial_weight),
                                       scratch_of(work.trial_cap),
                                       scratch_of(work.trial_share),
                                       std::span<unsigned char>(work.fixed.data(), n)};
        CellTargetOutputs outputs{out_of(targets.target), out_of(targets.cap),
                                  out_of(targets.reroute_share), 0.0};
        compute_cell_targets(inputs, cell_scratch, outputs);
        targets.domestic_demand[cell] = outputs.domestic_demand;
      }
    }
  });
}

void update_shares(const ScenarioSpec& spec, const Parameters& params, const OptionLists& options,
                   const Targets& targets, ModelState& state) {
  const int countries = spec.country_count();
  for (CountryId c = 0; c < countries; ++c) {
    for (SectorId s = 0; s < spec.sector_count(); ++s) {
      const double lambda = params.sectors[static_cast<std::size_t>(s)].adjustment;
      const std::size_t cell = spec.cell_index(c, s);
      double served = 0.0;
      for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
        // The cut is immediate (a quantity limit binds at once); the rest moves gradually.
        const double kept = std::min(state.share[o], targets.cap[o]);
        const double next = clamp_rounding(kept + lambda * (targets.target[o] - kept));
        state.share[o] = next;
        state.rerouted[o] = next * targets.reroute_share[o];
        served += next;
      }
      state.shortage[cell] = clamp_rounding(1.0 - served);
    }
  }
}

void update_capability(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                       const OptionLists& options, std::span<const EventSpec> events,
                       const Targets& targets, ModelState& state, Scratch& scratch) {
  const int countries = spec.country_count();
  const int sectors = spec.sector_count();
  scratch.capability_next.resize(state.capability.size());
  for (CountryId c = 0; c < countries; ++c) {
    const double initial_talent = spec.countries[static_cast<std::size_t>(c)].talent;
    const double talent_ratio =
        initial_talent > 0.0 ? state.talent[static_cast<std::size_t>(c)] / initial_talent : 1.0;
    for (SectorId s = 0; s < sectors; ++s) {
      const SectorSpec& sec = params.sectors[static_cast<std::size_t>(s)];
      const std::size_t cell = spec.cell_index(c, s);
      const double cap = state.capability[cell];

      double transfer = 0.0;
      for (std::size_t e = 0; e < events.size(); ++e) {
        const EventSpec& event = events[e];
        const double strength = policy.event_strength[e];
        if (event.type != EventType::Agreement || strength <= 0.0 || event.tech_transfer <= 0.0) {
          continue;
        }
        if (!event.sectors.empty() &&
            std::find(event.sectors.begin(), event.sectors.end(), s) == event.sectors.end()) {
          continue;
        }
        if (std::find(event.from.begin(), event.from.end(), c) == event.from.end()) continue;
        for (const CountryId partner : event.from) {
          const double lead = state.capability[spec.cell_index(partner, s)] - cap;
          transfer = std::max(transfer, event.tech_transfer * strength * std::max(0.0, lead));
        }
      }

      const double gap = std::max(0.0, targets.domestic_demand[cell] - cap);
      const double talent_factor =
          sec.talent_intensity == 0.0 ? 1.0 : std::pow(talent_ratio, sec.talent_intensity);
      const double drive = policy.investment[cell] + sec.demand_pull * gap;
      const double growth = sec.capacity_growth * drive *
                                talent_factor * targets.input_availability[cell] * (1.0 - cap) +
                            transfer;
      // Only capability idle beyond the initial slack erodes: a world at rest stays at rest.
      const double domestic =
          state.share[options.first[cell] +
                      static_cast<std::size_t>(options.domestic[cell])];
      const double initial_slack =
          spec.capability[cell] - spec.supply[spec.supply_index(c, s, c)];
      const double idle = std::max(0.0, (cap - domestic) - initial_slack);
      scratch.capability_next[cell] =
          std::clamp(cap + std::min(1.0 - cap, growth) - sec.depreciation * idle, 0.0, 1.0);
    }
  }
  state.capability.swap(scratch.capability_next);
}

double base_emigration_hazard(const ScenarioSpec& spec, const Parameters& params,
                              const Policy& policy, const OptionLists& options,
                              const OptionPolicy& option_policy, const ModelState& state,
                              CountryId country) {
  const CountrySpec& info = spec.countries[static_cast<std::size_t>(country)];
  const int sectors = spec.sector_count();
  double pressure = 0.0;
  for (SectorId s = 0; s < sectors; ++s) {
    const std::size_t cell = spec.cell_index(country, s);
    double exposure = state.shortage[cell];
    // Only options have an initial share: the other terms are 0.
    for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
      exposure += option_policy.restricted_supply[o];
    }
    pressure += sector_weight(info, s, sectors) * exposure;
  }
  const auto c = static_cast<std::size_t>(country);
  const double base_rate = params.base_emigration[c] + params.sanction_push[c] * pressure;
  return std::clamp(base_rate * (1.0 - policy.exit_restriction[c]), 0.0, 1.0);
}

void update_talent(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                   const OptionLists& options, const OptionPolicy& option_policy,
                   std::span<const EventSpec> events, ModelState& state, Scratch& scratch) {
  const auto cn = spec.countries.size();
  scratch.talent_flow.assign(cn, 0.0);

  // Returns come from the diaspora at the start of the step, before this step's leavers join it.
  for (std::size_t c = 0; c < cn; ++c) {
    const double rate = params.return_rate[c];
    if (!(rate > 0.0)) continue;
    double back = 0.0;
    for (std::size_t j = 0; j < cn; ++j) {
      const double returning = rate * state.diaspora[c * cn + j];
      state.diaspora[c * cn + j] -= returning;
      if (j != c) scratch.talent_flow[j] -= returning;
      back += returning;
    }
    state.returns[c] += back;
    scratch.talent_flow[c] += back;
  }

  for (std::size_t c = 0; c < cn; ++c) {
    const CountrySpec& country = spec.countries[c];
    const double talent = state.talent[c];
    const std::span<double> diaspora_row(state.diaspora.data() + c * cn, cn);
    double leavers = 0.0;
    for_each_emigration_channel(
        spec, params, policy, options, option_policy, events, state, static_cast<CountryId>(c),
        [&](double hazard, std::span<const double> weights) {
          const double channel_leavers = talent * hazard;
          leavers += channel_leavers;
          send_leavers(weights, c, channel_leavers, diaspora_row, scratch.talent_flow);
        });
    state.emigrants[c] += leavers;
    const double initial = country.talent;
    scratch.talent_flow[c] += params.training_rate[c] * std::max(0.0, initial - talent) - leavers;
  }

  for (std::size_t c = 0; c < cn; ++c) {
    state.talent[c] = std::max(0.0, state.talent[c] + scratch.talent_flow[c]);
  }
}

}  // namespace techdep::detail
