#include "model/phases.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <tuple>

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
    to.entry_speed = from.entry_speed;
    to.switching_cost = from.switching_cost;
    to.network_effect = from.network_effect;
    to.installed_base_turnover = from.installed_base_turnover;
    to.reentry_speed = from.reentry_speed;
    to.idle_pricing = from.idle_pricing;
    to.learning_by_doing = from.learning_by_doing;
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
    case EventType::SecondarySanctions:
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
    case EventType::ReturnCall:
    case EventType::HostRestriction:
    case EventType::RemoteWorkLimit:
      return false;
  }
  return true;
}

// Total effective weight abroad of leavers from `origin`: each destination's weight times its
// openness to them (0: nobody goes abroad by these weights).
double abroad_weight(std::span<const double> weights, std::span<const double> open,
                     std::size_t origin) {
  double total = 0.0;
  for (std::size_t j = 0; j < weights.size(); ++j) {
    if (j != origin) total += weights[j] * open[j];
  }
  return total;
}

// Leavers with no effective weight abroad are counted in the diaspora with an unknown
// destination, so nobody disappears from the books.
void send_leavers(const ScenarioSpec& spec, std::span<const double> weights,
                  std::span<const double> open, std::size_t origin, double leavers,
                  ModelState& state, std::span<double> flow) {
  const double total = abroad_weight(weights, open, origin);
  if (!(total > 0.0)) {
    settle_leavers(spec, origin, origin, leavers, state, flow);
    return;
  }
  for (std::size_t j = 0; j < weights.size(); ++j) {
    const double weight = weights[j] * open[j];
    if (j == origin || weight <= 0.0) continue;
    settle_leavers(spec, origin, j, leavers * weight / total, state, flow);
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
  policy.event_active.resize(events.size());
  bool activity_moved = false;
  for (std::size_t i = 0; i < events.size(); ++i) {
    policy.event_strength[i] = event_strength(events[i], ends[i], step);
    const unsigned char active = step >= events[i].at_step && step < ends[i] ? 1 : 0;
    activity_moved = activity_moved || active != policy.event_active[i];
    policy.event_active[i] = active;
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
  if (policy.built && !activity_moved && scratch.strength_prev == policy.event_strength) {
    return;
  }
  // Routes read R, e, tau and mu: they move only with the events that set those.
  bool routes_changed = !policy.built ||
                        scratch.strength_prev.size() != policy.event_strength.size();
  for (std::size_t i = 0; i < events.size() && !routes_changed; ++i) {
    routes_changed = moves_routes(events[i]) && (activity_moved || scratch.strength_prev[i] !=
                                                                       policy.event_strength[i]);
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

  // `leg_restriction` first collects each event's restriction r of the flows it names; merged
  // below in event order, independent controls on the same flow compound
  // (R = 1 - (1 - Re)(1 - Ri), model.md section 3).
  policy.built = true;
  policy.leg_restriction.clear();
  policy.distrust.assign(spec.distrust.begin(), spec.distrust.end());
  policy.investment.assign(cn * sn, 0.0);
  policy.mandate.assign(cn * sn, 0.0);
  const auto gn = static_cast<std::size_t>(spec.segment_count());
  policy.segment_mandate.assign(cn * sn * gn, 0.0);
  policy.exit_restriction.assign(cn, 0.0);
  policy.host_open.assign(cn * cn, 1.0);
  policy.return_call.assign(cn * cn, 0.0);
  policy.return_kept.assign(cn, 1.0);
  policy.remote_kept.assign(cn, 1.0);

  auto restrict = [&](CountryId origin, CountryId buyer, SectorId sector, double amount) {
    if (origin == buyer) return;
    policy.leg_restriction.push_back({spec.supply_index(buyer, sector, origin), amount});
  };

  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    const double strength = policy.event_strength[i];
    // (A ramped control's evasion from its first step, at strength 0, is the option policy's.)
    if (strength <= 0.0) continue;
    switch (event.type) {
      case EventType::ExportControl:
        for (const CountryId origin : event.from) {
          for (const CountryId buyer : event.to) {
            for_sectors(event, sectors,
                        [&](SectorId s) { restrict(origin, buyer, s, event.intensity * strength); });
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
            // A procurement rule binds its segments only; without segments, the whole demand.
            if (event.segments.empty()) {
              double& value = policy.mandate[spec.cell_index(c, s)];
              value = std::max(value, event.domestic_share * strength);
              return;
            }
            for (const SegmentId g : event.segments) {
              double& value = policy.segment_mandate[spec.cell_index(c, s) * gn +
                                                     static_cast<std::size_t>(g)];
              value = std::max(value, event.domestic_share * strength);
            }
          });
        }
        break;
      case EventType::ExitRestriction:
        for (const CountryId c : event.to) {
          double& value = policy.exit_restriction[static_cast<std::size_t>(c)];
          value = std::max(value, event.level * strength);
        }
        break;
      case EventType::EmigrationWave:
        for (const CountryId c : event.to) {
          policy.return_kept[static_cast<std::size_t>(c)] *=
              1.0 - event.return_suppression * strength;
        }
        break;
      case EventType::ReturnCall:
        for (const CountryId c : event.to) {
          const auto origin = static_cast<std::size_t>(c);
          // Without hosts the call reaches the whole diaspora, unknown destination included.
          if (event.from.empty()) {
            for (std::size_t j = 0; j < cn; ++j) {
              policy.return_call[origin * cn + j] += event.rate * strength;
            }
          }
          for (const CountryId host : event.from) {
            if (host == c) continue;
            policy.return_call[origin * cn + static_cast<std::size_t>(host)] +=
                event.rate * strength;
          }
        }
        break;
      case EventType::HostRestriction:
        for (const CountryId c : event.to) {
          for (const CountryId host : event.from) {
            if (host == c) continue;
            policy.host_open[static_cast<std::size_t>(c) * cn + static_cast<std::size_t>(host)] *=
                1.0 - event.level * strength;
          }
        }
        break;
      case EventType::RemoteWorkLimit:
        for (const CountryId c : event.to) {
          policy.remote_kept[static_cast<std::size_t>(c)] *= 1.0 - event.level * strength;
        }
        break;
      case EventType::Agreement:
      case EventType::Lift:
      case EventType::Set:
      case EventType::SecondarySanctions:
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

  // A stable sort keeps each flow's factors in event order: the products round as the dense
  // array's did.
  std::vector<LegRestriction>& legs = policy.leg_restriction;
  std::ranges::stable_sort(legs, {}, &LegRestriction::flow);
  std::size_t merged = 0;
  for (std::size_t i = 0; i < legs.size();) {
    const std::size_t flow = legs[i].flow;
    double open = 1.0;
    for (; i < legs.size() && legs[i].flow == flow; ++i) open *= 1.0 - legs[i].restriction;
    legs[merged++] = {flow, 1.0 - open};
  }
  legs.resize(merged);
  policy.closed_legs.clear();
  for (const LegRestriction& leg : legs) {
    if (!(leg.restriction < 1.0)) policy.closed_legs.push_back(leg.flow);
  }
  if (routes_changed) ++policy.route_version;
}

void build_option_lists(const ScenarioSpec& spec, OptionLists& options) {
  const std::size_t cn = spec.countries.size();
  const std::size_t sn = spec.sectors.size();
  const std::size_t cells = cn * sn;
  options.first.assign(cells + 1, 0);
  options.origin.clear();
  options.site.clear();
  options.shipper.clear();
  options.initial_share.clear();
  options.entrant.clear();
  options.domestic.assign(cells, 0);
  options.brand_first.assign(cells + 1, 0);
  options.brand.clear();
  options.max_count = 0;
  // Both tables are sorted, so a brand's sites and a site's shippers are contiguous runs.
  const auto sites_of = [&](int sector, int brand) {
    const auto& rows = spec.production_sites;
    const auto begin = std::partition_point(rows.begin(), rows.end(), [&](const SiteShare& x) {
      return std::tie(x.sector, x.brand) < std::tie(sector, brand);
    });
    const auto end = std::partition_point(begin, rows.end(), [&](const SiteShare& x) {
      return x.sector == sector && x.brand == brand;
    });
    return std::span<const SiteShare>(rows.data() + (begin - rows.begin()),
                                      static_cast<std::size_t>(end - begin));
  };
  const auto shippers_of = [&](int buyer, int sector, int site) {
    const auto& rows = spec.shipping;
    const auto begin = std::partition_point(rows.begin(), rows.end(), [&](const ShippingShare& x) {
      return std::tie(x.buyer, x.sector, x.site) < std::tie(buyer, sector, site);
    });
    const auto end = std::partition_point(begin, rows.end(), [&](const ShippingShare& x) {
      return x.buyer == buyer && x.sector == sector && x.site == site;
    });
    return std::span<const ShippingShare>(rows.data() + (begin - rows.begin()),
                                          static_cast<std::size_t>(end - begin));
  };
  const auto add = [&](std::size_t brand, int site, int shipper, double share) {
    options.origin.push_back(static_cast<std::int32_t>(brand));
    options.site.push_back(site);
    options.shipper.push_back(shipper);
    options.initial_share.push_back(share);
    options.entrant.push_back(0);
  };
  // A brand with a world market share may enter a market it does not serve, in sectors where
  // entry is possible at all.
  const auto may_enter = [&](std::size_t sector, std::size_t brand) {
    return spec.sectors[sector].entry_speed > 0.0 && !spec.world_supply.empty() &&
           spec.world_supply[sector * cn + brand] > 0.0;
  };
  for (std::size_t cell = 0; cell < cells; ++cell) {
    const std::size_t buyer = cell / sn;
    const std::size_t sector = cell % sn;
    options.first[cell] = options.origin.size();
    options.brand_first[cell] = options.brand.size();
    for (std::size_t k = 0; k < cn; ++k) {
      const double brand_share = spec.supply[cell * cn + k];
      if (k == buyer) {
        options.domestic[cell] =
            static_cast<std::int32_t>(options.origin.size() - options.first[cell]);
        options.brand.push_back(static_cast<std::int32_t>(k));
        add(k, static_cast<int>(k), static_cast<int>(k), brand_share);
        continue;
      }
      if (!(brand_share > 0.0)) {
        if (!may_enter(sector, k)) continue;
        options.brand.push_back(static_cast<std::int32_t>(k));
        add(k, static_cast<int>(k), static_cast<int>(k), 0.0);
        options.entrant.back() = 1;
        continue;
      }
      options.brand.push_back(static_cast<std::int32_t>(k));
      // A brand without production sites is made at home; goods without shipping rows are
      // shipped by their site.
      const SiteShare at_home{static_cast<int>(sector), static_cast<int>(k), static_cast<int>(k),
                              1.0};
      std::span<const SiteShare> sites = sites_of(static_cast<int>(sector), static_cast<int>(k));
      if (sites.empty()) sites = std::span<const SiteShare>(&at_home, 1);
      for (const SiteShare& site : sites) {
        const std::span<const ShippingShare> shippers =
            shippers_of(static_cast<int>(buyer), static_cast<int>(sector), site.site);
        if (shippers.empty()) add(k, site.site, site.site, brand_share * site.share);
        for (const ShippingShare& ship : shippers) {
          add(k, site.site, ship.shipper, brand_share * site.share * ship.share);
        }
      }
    }
    options.max_count = std::max(options.max_count, options.origin.size() - options.first[cell]);
  }
  options.first[cells] = options.origin.size();
  options.brand_first[cells] = options.brand.size();
  build_segment_slots(spec, options);
}

void build_segment_slots(const ScenarioSpec& spec, OptionLists& options) {
  const std::size_t cells = options.first.size() - 1;
  options.slot_first.assign(cells + 1, 0);
  options.slot_segment.clear();
  options.slot_weight.clear();
  options.slot_cell.clear();
  options.slot_option_first.assign(1, 0);
  options.slot_initial_share.clear();
  const auto& rows = spec.demand_segments;  // sorted by (buyer, sector, segment)
  std::size_t row = 0;
  for (std::size_t cell = 0; cell < cells; ++cell) {
    options.slot_first[cell] = options.slot_segment.size();
    const std::size_t begin = row;
    while (row < rows.size() && spec.cell_index(rows[row].buyer, rows[row].sector) == cell) ++row;
    if (row == begin) continue;
    // Segments without their own start share the cell's remaining domestic supply; the foreign
    // options of every segment keep the cell's proportions, so the segments sum to the whole.
    const std::size_t first = options.first[cell];
    const std::size_t count = options.count(cell);
    const double domestic = options.initial_share[options.domestic_option(cell)];
    double served = 0.0;
    for (std::size_t o = first; o < first + count; ++o) served += options.initial_share[o];
    double given_mass = 0.0;
    double rest_weight = 0.0;
    for (std::size_t r = begin; r < row; ++r) {
      if (rows[r].start_domestic >= 0.0) {
        given_mass += rows[r].share * rows[r].start_domestic;
      } else {
        rest_weight += rows[r].share;
      }
    }
    const double rest_domestic =
        rest_weight > 0.0 ? std::clamp((domestic - given_mass) / rest_weight, 0.0, served)
                          : domestic;
    const double foreign = served - domestic;
    for (std::size_t r = begin; r < row; ++r) {
      const double own = rows[r].start_domestic >= 0.0 ? rows[r].start_domestic : rest_domestic;
      const double scale = foreign > 0.0 ? std::max(0.0, served - own) / foreign : 0.0;
      options.slot_segment.push_back(rows[r].segment);
      options.slot_weight.push_back(rows[r].share);
      options.slot_cell.push_back(static_cast<std::int32_t>(cell));
      for (std::size_t o = 0; o < count; ++o) {
        options.slot_initial_share.push_back(
            static_cast<std::int32_t>(o) == options.domestic[cell]
                ? own
                : options.initial_share[first + o] * scale);
      }
      options.slot_option_first.push_back(options.slot_initial_share.size());
    }
  }
  options.slot_first[cells] = options.slot_segment.size();
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

double path_log_trade_cost(const ScenarioSpec& spec, const LogPriceTables& tables, int site,
                           int shipper, CountryId buyer) {
  // Goods a hub ships pay both legs: site -> hub -> buyer.
  if (shipper == site) return tables.trade_cost[spec.pair_index(site, buyer)];
  return tables.trade_cost[spec.pair_index(site, shipper)] +
         tables.trade_cost[spec.pair_index(shipper, buyer)];
}

double idle_capability(const ScenarioSpec& spec, const OptionLists& options,
                       const ModelState& state, std::size_t cell) {
  // Only capability idle beyond the initial slack counts: a world at rest stays at rest. The
  // start's domestic share is the domestic option's, S0[c][s][c] (read there, not from the dense
  // table: a cache miss per cell and step, 5% of W3).
  const std::size_t option = options.domestic_option(cell);
  const double domestic = state.share[option];
  const double initial_slack = spec.capability[cell] - options.initial_share[option];
  return std::max(0.0, (state.capability[cell] - domestic) - initial_slack);
}

double domestic_log_price(const ScenarioSpec& spec, const Parameters& params,
                          const LogPriceTables& tables, const OptionLists& options,
                          const ModelState& state, CountryId buyer, SectorId sector) {
  // Learning: capability built lowers the domestic price, which keeps import substitution alive
  // after sanctions are lifted. Producers with idle capability cut their price to fill it, and
  // experience of serving more than at the start lowers the quality-adjusted price.
  const std::size_t cell = spec.cell_index(buyer, sector);
  const SectorSpec& sec = params.sectors[static_cast<std::size_t>(sector)];
  double log_price = tables.price[idx(static_cast<std::size_t>(buyer), spec.sectors.size(),
                                      static_cast<std::size_t>(sector))] -
                     sec.learning * (state.capability[cell] - spec.capability[cell]);
  if (sec.idle_pricing > 0.0) {
    log_price -= sec.idle_pricing * idle_capability(spec, options, state, cell);
  }
  if (sec.learning_by_doing > 0.0) {
    log_price -= sec.learning_by_doing * std::log1p(state.experience[cell]);
  }
  return log_price;
}

void fill_log_prices(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const LogPriceTables& tables, const OptionLists& options,
                     const ModelState& state, CountryId buyer, SectorId sector,
                     std::span<double> log_price, std::span<double> lock_in,
                     double security_scale) {
  const SectorSpec& sec = params.sectors[static_cast<std::size_t>(sector)];
  const double sensitivity = sec.security_sensitivity * security_scale;
  const std::size_t sn = spec.sectors.size();
  const std::size_t cell = spec.cell_index(buyer, sector);
  const std::size_t first = options.first[cell];
  const std::size_t count = options.count(cell);
  // A brand's options (its production sites and shippers) are listed together and share its
  // price and the buyer's distrust of it: one log1p a brand, not one an option.
  CountryId brand = -1;
  double brand_price = 0.0;
  double brand_distrust = 0.0;
  for (std::size_t o = 0; o < count; ++o) {
    const CountryId k = options.origin[first + o];
    if (k == buyer) {
      log_price[o] = domestic_log_price(spec, params, tables, options, state, buyer, sector);
      continue;
    }
    if (k != brand) {
      const std::size_t pair = spec.pair_index(buyer, k);
      brand = k;
      brand_price = tables.price[idx(static_cast<std::size_t>(k), sn,
                                     static_cast<std::size_t>(sector))];
      brand_distrust =
          std::log1p(sensitivity * (policy.distrust[pair] + state.lasting_distrust[pair]));
    }
    log_price[o] = brand_price +
                   path_log_trade_cost(spec, tables, options.site[first + o],
                                       options.shipper[first + o], buyer) +
                   brand_distrust;
  }
  std::fill(lock_in.begin(), lock_in.end(), 0.0);
  if (sec.switching_cost == 0.0 && sec.network_effect == 0.0) return;
  // Switching cost: the part of demand not on the brand's installed base pays it; network
  // effect: the brand's weight grows by exp(nu b). Both read the brand's share b of the base.
  double total = 0.0;
  for (std::size_t o = 0; o < count; ++o) total += state.installed_base[first + o];
  for (std::size_t begin = 0; begin < count;) {
    std::size_t end = begin;
    double base = 0.0;
    while (end < count && options.origin[first + end] == options.origin[first + begin]) {
      base += state.installed_base[first + end];
      ++end;
    }
    const double b = total > 0.0 ? base / total : 0.0;
    const double term = std::log1p(sec.switching_cost * (1.0 - b)) -
                        sec.network_effect * b / sec.elasticity;
    for (std::size_t o = begin; o < end; ++o) {
      lock_in[o] = term;
      log_price[o] += term;
    }
    begin = end;
  }
}

namespace {

// Membership of each country in an event's `from` list, for the per-option tests.
struct CountrySet {
  std::vector<unsigned char> in;
  void assign(std::span<const CountryId> members, std::size_t countries) {
    in.assign(countries, 0);
    for (const CountryId c : members) in[static_cast<std::size_t>(c)] = 1;
  }
  bool has(int c) const { return in[static_cast<std::size_t>(c)] != 0; }
};

bool names(const EventSpec& event, CountryId buyer, SectorId sector) {
  return std::find(event.to.begin(), event.to.end(), buyer) != event.to.end() &&
         (event.sectors.empty() ||
          std::find(event.sectors.begin(), event.sectors.end(), sector) != event.sectors.end());
}

bool has_brand_rule(RestrictionScope scope) {
  return scope == RestrictionScope::Brand || scope == RestrictionScope::All;
}
bool has_territory_rule(RestrictionScope scope) {
  return scope == RestrictionScope::Territory || scope == RestrictionScope::All;
}

// The fraction of an option's flow an export control restricts at full strength: the brand rule
// binds the exporters' brands wherever made, with the site's enforcement abroad; the territory
// rule binds goods made on or shipped from their soil. Negative when the control does not
// name the option at all.
double control_reach(const EventSpec& event, const CountrySet& from, int brand, int site,
                     int shipper) {
  double reach = -1.0;
  if (has_brand_rule(event.scope) && from.has(brand)) {
    const double enforced =
        from.has(site) || event.site_enforcement.empty()
            ? 1.0
            : event.site_enforcement[static_cast<std::size_t>(site)];
    reach = std::max(reach, event.intensity * enforced);
  }
  if (has_territory_rule(event.scope) && (from.has(site) || from.has(shipper))) {
    reach = std::max(reach, event.intensity);
  }
  return reach;
}

bool ban_names(const EventSpec& event, const CountrySet& from, int brand, int site, int shipper) {
  switch (event.scope) {
    case RestrictionScope::Site: return from.has(site);
    case RestrictionScope::Shipper: return from.has(shipper);
    default: return from.has(brand);
  }
}

}  // namespace

namespace {

// Whether a secondary-sanctions event threatens a brand's home: the suppliers it names, or every
// country that neither threatens nor is targeted.
bool threatens(const EventSpec& event, int brand) {
  const auto has = [brand](const std::vector<CountryId>& list) {
    return std::find(list.begin(), list.end(), brand) != list.end();
  };
  return event.threatened.empty() ? !has(event.from) && !has(event.to) : has(event.threatened);
}

}  // namespace

double secondary_sanctions_risk(std::span<const EventSpec> events, const Policy& policy,
                                CountryId buyer, SectorId sector, int brand) {
  double risk = 0.0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    if (event.type != EventType::SecondarySanctions || !(policy.event_strength[i] > 0.0)) continue;
    if (!names(event, buyer, sector) || !threatens(event, brand)) continue;
    risk = std::max(risk, event.level * policy.event_strength[i]);
  }
  return risk;
}

void update_option_policy(const ScenarioSpec& spec, std::span<const EventSpec> events,
                          const Parameters& params, const Policy& policy,
                          const OptionLists& options, std::span<const double> hub_capacity,
                          std::span<const double> entry, std::span<const double> presence,
                          std::span<const double> grey_evasion, int threads,
                          OptionPolicy& gathered) {
  if (gathered.route_version == policy.route_version) return;
  const std::size_t cn = spec.countries.size();
  const std::size_t sn = spec.sectors.size();
  const std::size_t cells = options.first.size() - 1;
  const std::size_t count = options.size();
  gathered.restriction.assign(count, 0.0);  // the open fraction until the end of the loop
  std::vector<double> open(count, 1.0);
  std::vector<double> supplier_open(count, 1.0);
  std::vector<double> evasion(count, 0.0);
  gathered.multiplier.assign(count, 0.0);
  gathered.evasion.assign(count, 0.0);
  gathered.restricted_supply.assign(count, 0.0);
  gathered.route.assign(count, -1);

  CountrySet from;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    const double strength = policy.event_strength[i];
    const bool control = event.type == EventType::ExportControl && policy.event_active[i];
    const bool ban = event.type == EventType::ImportBan && strength > 0.0;
    const bool enforcement = event.type == EventType::Enforcement && strength > 0.0;
    const bool threat = event.type == EventType::SecondarySanctions && strength > 0.0;
    if (!control && !ban && !enforcement && !threat) continue;
    from.assign(event.from, cn);
    for (const CountryId buyer : event.to) {
      for (SectorId s = 0; s < static_cast<SectorId>(sn); ++s) {
        if (!names(event, buyer, s)) continue;
        const std::size_t cell = spec.cell_index(buyer, s);
        const std::size_t domestic = options.domestic_option(cell);
        for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
          if (o == domestic) continue;
          const int brand = options.origin[o];
          const int site = options.site[o];
          const int shipper = options.shipper[o];
          double amount = 0.0;
          if (control) {
            const double reach = control_reach(event, from, brand, site, shipper);
            if (reach < 0.0) continue;
            amount = reach * strength;
            evasion[o] = std::max(evasion[o], event.evasion);
          } else if (ban) {
            if (!ban_names(event, from, brand, site, shipper)) continue;
            amount = event.intensity * strength;
          } else if (threat) {
            // Threatened suppliers hold back from the target: no routes around their own caution.
            if (!threatens(event, brand)) continue;
            amount = event.level * strength;
          } else {
            const bool hit = event.scope == RestrictionScope::Site ? from.has(site)
                                                                   : from.has(shipper);
            if (!hit) continue;
            amount = event.level * strength;
          }
          open[o] *= 1.0 - amount;
          if (control || threat) supplier_open[o] *= 1.0 - amount;
        }
      }
    }
  }

  // The restricted options that can evade ask for routes; each hub's relay of their goods is
  // open in proportion to its capacity, closed where the hub controls them, cut by enforcement
  // against it and by territorial rules on its soil.
  gathered.requests.clear();
  gathered.open_by_policy = open;
  gathered.control_evasion = evasion;
  gathered.supplier_cut.resize(count);
  for (std::size_t o = 0; o < count; ++o) gathered.supplier_cut[o] = 1.0 - supplier_open[o];
  // A vendor that left reaches its buyers directly only as far as its presence E: the rest of
  // its demand is restricted like a cut, and the parallel importers who served it while it was
  // away keep doing so (their last evasion) until it is back.
  for (std::size_t o = 0; o < count; ++o) {
    if (options.entrant[o] || !(presence[o] < open[o])) continue;
    open[o] = presence[o];
    evasion[o] = std::max(evasion[o], grey_evasion[o]);
  }
  std::vector<std::size_t> request_option;
  for (std::size_t cell = 0; cell < cells; ++cell) {
    for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
      gathered.restriction[o] = 1.0 - open[o];
      gathered.restricted_supply[o] = options.initial_share[o] * gathered.restriction[o];
      if (!(open[o] < 1.0) || !(evasion[o] > 0.0)) continue;
      gathered.route[o] = static_cast<std::int32_t>(gathered.requests.size());
      gathered.requests.push_back(RouteRequest{static_cast<int>(cell / sn),
                                               static_cast<int>(cell % sn), options.site[o],
                                               options.shipper[o]});
      request_option.push_back(o);
    }
  }
  gathered.relay_open.assign(gathered.requests.size() * cn, 1.0);
  for (std::size_t r = 0; r < gathered.requests.size(); ++r) {
    const std::span<double> relay(gathered.relay_open.data() + r * cn, cn);
    for (std::size_t h = 0; h < cn; ++h) relay[h] = hub_capacity[h];
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventSpec& event = events[i];
    const double strength = policy.event_strength[i];
    if (!(strength > 0.0)) continue;
    const bool control = event.type == EventType::ExportControl;
    // Enforcement names shippers unless it names sites (a spec built in code may leave the
    // scope at its default).
    const bool enforcement =
        event.type == EventType::Enforcement && event.scope != RestrictionScope::Site;
    const bool ban = event.type == EventType::ImportBan && event.scope == RestrictionScope::Shipper;
    if (!control && !enforcement && !ban) continue;
    from.assign(event.from, cn);
    for (std::size_t r = 0; r < gathered.requests.size(); ++r) {
      const RouteRequest& request = gathered.requests[r];
      if (!names(event, request.buyer, request.sector)) continue;
      const int brand = options.origin[request_option[r]];
      const std::span<double> relay(gathered.relay_open.data() + r * cn, cn);
      for (std::size_t h = 0; h < cn; ++h) {
        if (!from.has(static_cast<int>(h))) continue;
        double kept = 1.0;
        if (control) {
          // A country that controls the brand never relays it; goods leaving its soil fall
          // under its territorial rule.
          if (has_brand_rule(event.scope) && from.has(brand)) kept = 1.0 - strength;
          if (has_territory_rule(event.scope)) {
            kept = std::min(kept, 1.0 - event.intensity * strength);
          }
        } else {
          kept = 1.0 - (enforcement ? event.level : event.intensity) * strength;
        }
        relay[h] *= kept;
      }
    }
  }

  const RouteInputs inputs{spec.country_count(), spec.sector_count(), policy.closed_legs,
                           params.trade_cost,    params.reroute_markup, spec.routes.dispersion,
                           gathered.requests,    gathered.relay_open,  threads};
  find_routes(inputs, gathered.routes);
  for (std::size_t r = 0; r < gathered.requests.size(); ++r) {
    const std::size_t o = request_option[r];
    gathered.multiplier[o] = gathered.routes.multiplier[r];
    gathered.evasion[o] = evasion[o] * gathered.routes.availability[r];
  }
  // An entrant reaches the buyer only as far as it has entered, E: its wedge is
  // E ((1 - R) + R e a psi^-sigma), written as a restriction R' = 1 - E (1 - R) with evasion
  // E R e a / R' so that the targets phase reads it like any other option.
  for (std::size_t o = 0; o < count; ++o) {
    if (!options.entrant[o]) continue;
    const double entered = entry[o];
    const double restricted = gathered.restriction[o];
    const double combined = 1.0 - entered * (1.0 - restricted);
    gathered.evasion[o] =
        combined > 0.0 ? entered * restricted * gathered.evasion[o] / combined : 0.0;
    gathered.restriction[o] = combined;
  }
  gathered.route_version = policy.route_version;
}

void supplier_cut_by_pair(const ScenarioSpec& spec, const OptionLists& options,
                          const OptionPolicy& option_policy, std::span<double> out) {
  std::fill(out.begin(), out.end(), 0.0);
  const std::size_t sn = spec.sectors.size();
  for (std::size_t cell = 0; cell + 1 < options.first.size(); ++cell) {
    const std::size_t buyer = cell / sn;
    const std::size_t end = options.first[cell + 1];
    for (std::size_t begin = options.first[cell]; begin < end;) {
      const int brand = options.origin[begin];
      double cut = 0.0;
      double initial = 0.0;
      for (; begin < end && options.origin[begin] == brand; ++begin) {
        cut += options.initial_share[begin] * option_policy.supplier_cut[begin];
        initial += options.initial_share[begin];
      }
      if (!(initial > 0.0)) continue;
      double& pair = out[buyer * spec.countries.size() + static_cast<std::size_t>(brand)];
      pair = std::max(pair, cut / initial);
    }
  }
}

bool update_lock_in(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                    const OptionLists& options, const OptionPolicy& option_policy,
                    const Calibration& calibration, ModelState& state, std::vector<double>& drive) {
  const std::size_t sn = spec.sectors.size();
  const std::size_t cn = spec.countries.size();
  bool reach_moved = false;
  for (std::size_t cell = 0; cell + 1 < options.first.size(); ++cell) {
    const SectorSpec& sec = params.sectors[cell % sn];
    const double turnover = sec.installed_base_turnover;
    const double reentry = sec.reentry_speed;
    for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
      double& base = state.installed_base[o];
      base += turnover * (state.share[o] - base);
      if (reentry >= 1.0 || options.entrant[o]) continue;
      if (option_policy.control_evasion[o] > 0.0) {
        state.grey_evasion[o] = option_policy.control_evasion[o];
      }
      // A vendor's local presence (offices, distributors, support) follows its openness at the
      // re-entry speed both ways: a pause of a few weeks costs it little, years away cost it its
      // channels, which then take as long to rebuild. Presence above the openness changes
      // nothing (the cut binds), so only moves below it reach the option policy.
      const double open = option_policy.open_by_policy[o];
      double& presence = state.presence[o];
      const double was = presence;
      presence += reentry * (open - presence);
      if ((was < open || presence < open) && presence != was) reach_moved = true;
    }
  }

  bool remembers = false;
  for (const CountrySpec& country : spec.countries) {
    remembers = remembers || country.distrust_build > 0.0 || country.distrust_decay > 0.0;
  }
  if (!remembers) return reach_moved;
  drive.resize(cn * cn);
  supplier_cut_by_pair(spec, options, option_policy, drive);
  for (std::size_t c = 0; c < cn; ++c) {
    const CountrySpec& country = spec.countries[c];
    for (std::size_t k = 0; k < cn; ++k) {
      if (k == c) continue;
      const std::size_t pair = c * cn + k;
      // What the supplier did since the start: new cuts and exits, and incidents' distrust.
      const double cuts = std::max(0.0, drive[pair] - calibration.supplier_cut0[pair]);
      const double incidents = std::max(0.0, policy.distrust[pair] - calibration.distrust0[pair]);
      const double pressure = std::min(1.0, std::max(cuts, incidents));
      double& lasting = state.lasting_distrust[pair];
      lasting = std::clamp(lasting + country.distrust_build * pressure * (1.0 - lasting) -
                               country.distrust_decay * lasting,
                           0.0, 1.0);
    }
  }
  return reach_moved;
}

namespace {

// The target step of one demand segment of a cell (docs/model.md, Demand segments): the
// segment's own elasticity, distrust weight, calibrated weights and mandate, with the domestic
// capability it may use per unit of its own demand. Writes the slot's targets, caps, route split
// and CES weights; returns its domestic demand.
double solve_segment(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const OptionPolicy& option_policy, const Calibration& calibration,
                     const ModelState& state, const LogPriceTables& tables, std::size_t slot,
                     double domestic_cap, CellWork& work, Targets& targets) {
  const OptionLists& options = calibration.options;
  const auto cell = static_cast<std::size_t>(options.slot_cell[slot]);
  const auto buyer = static_cast<CountryId>(cell / spec.sectors.size());
  const auto sector = static_cast<SectorId>(cell % spec.sectors.size());
  const std::size_t first = options.first[cell];
  const std::size_t n = options.count(cell);
  const auto segment_id = static_cast<std::size_t>(options.slot_segment[slot]);
  const SegmentSpec& segment = spec.segments[segment_id];
  std::span<const double> log_price(targets.log_price.data() + first, n);
  if (segment.security_sensitivity != 1.0) {
    fill_log_prices(spec, params, policy, tables, options, state, buyer, sector,
                    std::span<double>(work.log_price.data(), n),
                    std::span<double>(work.segment_lock_in.data(), n),
                    segment.security_sensitivity);
    log_price = std::span<const double>(work.log_price.data(), n);
  }
  auto options_of = [&](const std::vector<double>& v) {
    return std::span<const double>(v.data() + first, n);
  };
  auto slot_of = [&](std::vector<double>& v) {
    return std::span<double>(v.data() + options.slot_option_first[slot], n);
  };
  auto scratch_of = [&](std::vector<double>& v) { return std::span<double>(v.data(), n); };
  const double mandate =
      std::max(policy.mandate[cell],
               policy.segment_mandate[cell * spec.segments.size() + segment_id]);
  const CellTargetInputs inputs{
      options.domestic[cell],
      params.sectors[static_cast<std::size_t>(sector)].elasticity * segment.elasticity,
      std::span<const double>(calibration.slot_log_alpha.data() + options.slot_option_first[slot],
                              n),
      log_price,
      options_of(option_policy.restriction),
      options_of(option_policy.evasion),
      options_of(option_policy.multiplier),
      std::span<const double>(calibration.slot_cap_scale.data() + options.slot_option_first[slot],
                              n),
      domestic_cap,
      mandate};
  CellTargetScratch cell_scratch{scratch_of(work.unrestricted_weight),
                                 scratch_of(work.weight),
                                 scratch_of(work.simple_cap),
                                 scratch_of(work.trial_weight),
                                 scratch_of(work.trial_cap),
                                 scratch_of(work.trial_share),
                                 std::span<unsigned char>(work.fixed.data(), n)};
  CellTargetOutputs outputs{slot_of(targets.slot_target), slot_of(targets.slot_cap),
                            slot_of(targets.slot_reroute), 0.0};
  compute_cell_targets(inputs, cell_scratch, outputs);
  std::copy_n(work.weight.begin(), n, slot_of(targets.slot_weight).begin());
  targets.slot_domestic_cap[slot] = domestic_cap;
  targets.slot_domestic_demand[slot] = outputs.domestic_demand;
  return outputs.domestic_demand;
}

// The water-filling of a solved slot again under caps the served-first pass changed.
void refill_segment(const ScenarioSpec& spec, const Policy& policy, const OptionLists& options,
                    std::size_t slot, CellWork& work, Targets& targets) {
  const auto cell = static_cast<std::size_t>(options.slot_cell[slot]);
  const std::size_t n = options.count(cell);
  const std::size_t at = options.slot_option_first[slot];
  const auto segment_id = static_cast<std::size_t>(options.slot_segment[slot]);
  const double mandate =
      std::max(policy.mandate[cell],
               policy.segment_mandate[cell * spec.segments.size() + segment_id]);
  capped_targets(std::span<const double>(targets.slot_weight.data() + at, n),
                 std::span<const double>(targets.slot_cap.data() + at, n),
                 options.domestic[cell], mandate,
                 std::span<double>(targets.slot_target.data() + at, n),
                 std::span<double>(work.trial_weight.data(), n),
                 std::span<unsigned char>(work.fixed.data(), n));
}

// Demand segments of one cell share its scarce supply (docs/model.md, Demand segments):
// served-first segments take restricted imports and domestic capability before the others; the
// others keep the domestic supply they buy and share the capability beyond it in proportion to
// the domestic demand each still lacks (a procurement rule raises it), and the restricted
// imports left in proportion to their own caps. The cell's targets, caps and domestic demand are then the segments' weighted sums.
void compute_segment_targets(const ScenarioSpec& spec, const Parameters& params,
                             const Policy& policy, const OptionPolicy& option_policy,
                             const Calibration& calibration, const ModelState& state,
                             const LogPriceTables& tables, std::size_t cell,
                             double capability_effective, CellWork& work, Targets& targets) {
  const OptionLists& options = calibration.options;
  const std::size_t first = options.first[cell];
  const std::size_t n = options.count(cell);
  const auto dom = static_cast<std::size_t>(options.domestic[cell]);
  const std::size_t slot_begin = options.slot_first[cell];
  const std::size_t slot_end = options.slot_first[cell + 1];
  auto served_first = [&](std::size_t slot) {
    return spec.segments[static_cast<std::size_t>(options.slot_segment[slot])].served_first;
  };
  auto restricted = [&](std::size_t o) {
    return o != dom && option_policy.restriction[first + o] > 0.0;
  };
  const std::span<double> quantity_left(work.segment_quantity.data(), n);
  const std::span<double> rest_quantity(work.segment_rest_quantity.data(), n);
  std::fill(quantity_left.begin(), quantity_left.end(), 0.0);
  std::fill(rest_quantity.begin(), rest_quantity.end(), 0.0);

  // Pass 1: each segment alone, under the cell's capability: what it asks of domestic producers
  // and how much of each restricted option the cell can get.
  bool any_served_first = false;
  double rest_weight = 0.0;
  for (std::size_t slot = slot_begin; slot < slot_end; ++slot) {
    const double weight = options.slot_weight[slot];
    solve_segment(spec, params, policy, option_policy, calibration, state, tables, slot,
                  capability_effective, work, targets);
    const std::size_t at = options.slot_option_first[slot];
    for (std::size_t o = 0; o < n; ++o) {
      if (!restricted(o)) continue;
      quantity_left[o] += weight * targets.slot_cap[at + o];
      if (!served_first(slot)) rest_quantity[o] += weight * targets.slot_cap[at + o];
    }
    if (served_first(slot)) {
      any_served_first = true;
    } else {
      rest_weight += weight;
    }
  }

  // Pass 2, served-first segments in the order they are declared: anything left is theirs.
  double capability_left = capability_effective;
  for (std::size_t slot = slot_begin; slot < slot_end && any_served_first; ++slot) {
    if (!served_first(slot)) continue;
    const double weight = options.slot_weight[slot];
    solve_segment(spec, params, policy, option_policy, calibration, state, tables, slot,
                  capability_left / weight, work, targets);
    // Restrictions limit a served-first segment by quantity alone: it buys what is left of a
    // restricted option at its unrestricted weight (calibrated so, docs/model.md).
    const std::size_t at = options.slot_option_first[slot];
    for (std::size_t o = 0; o < n; ++o) {
      if (!restricted(o)) continue;
      targets.slot_cap[at + o] = quantity_left[o] / weight;
      targets.slot_weight[at + o] = work.unrestricted_weight[o];
    }
    refill_segment(spec, policy, options, slot, work, targets);
    for (std::size_t o = 0; o < n; ++o) {
      if (restricted(o)) {
        quantity_left[o] = std::max(0.0, quantity_left[o] - weight * targets.slot_target[at + o]);
      }
    }
    capability_left = std::max(0.0, capability_left - weight * targets.slot_target[at + dom]);
  }

  // The others: each keeps the domestic supply it already buys, up to what it asks (producers
  // serve their customers; if capability fell below that, all in proportion), and capability
  // beyond it goes to the demand still unserved, in proportion (a procurement rule raises it).
  double held = 0.0;
  double unserved = 0.0;
  for (std::size_t slot = slot_begin; slot < slot_end; ++slot) {
    if (served_first(slot)) continue;
    const double weight = options.slot_weight[slot];
    const double asked = targets.slot_domestic_demand[slot];
    const double keeps = std::min(state.slot_share[options.slot_option_first[slot] + dom], asked);
    held += weight * keeps;
    unserved += weight * (asked - keeps);
  }
  const double held_scale = held > capability_left ? capability_left / held : 1.0;
  const double free = std::max(0.0, capability_left - held);
  for (std::size_t slot = slot_begin; slot < slot_end; ++slot) {
    if (served_first(slot)) continue;
    const double asked = targets.slot_domestic_demand[slot];
    const double keeps = std::min(state.slot_share[options.slot_option_first[slot] + dom], asked);
    const double domestic_cap =
        keeps * held_scale +
        (unserved > 0.0 ? free * (asked - keeps) / unserved : free / rest_weight);
    solve_segment(spec, params, policy, option_policy, calibration, state, tables, slot,
                  domestic_cap, work, targets);
    if (!any_served_first) continue;
    const std::size_t at = options.slot_option_first[slot];
    for (std::size_t o = 0; o < n; ++o) {
      if (restricted(o) && rest_quantity[o] > quantity_left[o]) {
        targets.slot_cap[at + o] *= quantity_left[o] / rest_quantity[o];
      }
    }
    refill_segment(spec, policy, options, slot, work, targets);
  }

  double domestic_demand = 0.0;
  for (std::size_t o = 0; o < n; ++o) {
    double target = 0.0;
    double cap = 0.0;
    double rerouted = 0.0;
    for (std::size_t slot = slot_begin; slot < slot_end; ++slot) {
      const double weight = options.slot_weight[slot];
      const std::size_t at = options.slot_option_first[slot] + o;
      target += weight * targets.slot_target[at];
      cap += weight * targets.slot_cap[at];
      rerouted += weight * targets.slot_target[at] * targets.slot_reroute[at];
    }
    targets.target[first + o] = target;
    targets.cap[first + o] = cap;
    if (target > 0.0) targets.reroute_share[first + o] = rerouted / target;
  }
  for (std::size_t slot = slot_begin; slot < slot_end; ++slot) {
    domestic_demand += options.slot_weight[slot] * targets.slot_domestic_demand[slot];
  }
  targets.domestic_demand[cell] = domestic_demand;
}

}  // namespace

void compute_targets(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const OptionPolicy& option_policy, const Calibration& calibration,
                     const ModelState& state, Targets& targets, Scratch& scratch) {
  const int sectors = spec.sector_count();
  const OptionLists& options = calibration.options;
  refresh_log_price_tables(params, scratch.log_tables);
  for_chunks_on(scratch.team, spec.countries.size(), 1,
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
        fill_log_prices(spec, params, policy, scratch.log_tables, options, state, c, s, log_price,
                        std::span<double>(targets.lock_in.data() + first, n));
        auto options_of = [&](const std::vector<double>& v) {
          return std::span<const double>(v.data() + first, n);
        };
        auto scratch_of = [&](std::vector<double>& v) { return std::span<double>(v.data(), n); };
        auto out_of = [&](std::vector<double>& v) {
          return std::span<double>(v.data() + first, n);
        };
        const double capability_effective =
            state.capability[cell] * targets.input_availability[cell];
        const CellTargetInputs inputs{
            options.domestic[cell],
            params.sectors[static_cast<std::size_t>(s)].elasticity,
            options_of(calibration.log_alpha),
            log_price,
            options_of(option_policy.restriction),
            options_of(option_policy.evasion),
            options_of(option_policy.multiplier),
            options_of(calibration.cap_scale),
            capability_effective,
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
        if (options.segmented(cell)) {
          compute_segment_targets(spec, params, policy, option_policy, calibration, state,
                                  scratch.log_tables, cell, capability_effective, work, targets);
        }
      }
    }
  });
}

void update_shares(const ScenarioSpec& spec, const Parameters& params, const OptionLists& options,
                   const Targets& targets, WorkerTeam* team, ModelState& state) {
  // Each cell writes only its own options and shortage.
  for_each_on(team, spec.countries.size(), [&](std::size_t country) {
    const auto c = static_cast<CountryId>(country);
    for (SectorId s = 0; s < spec.sector_count(); ++s) {
      const double lambda = params.sectors[static_cast<std::size_t>(s)].adjustment;
      const std::size_t cell = spec.cell_index(c, s);
      if (options.segmented(cell)) {
        update_segment_shares(spec, lambda, options, targets, cell, state);
        continue;
      }
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
  });
}

void update_segment_shares(const ScenarioSpec& spec, double lambda, const OptionLists& options,
                           const Targets& targets, std::size_t cell, ModelState& state) {
  const std::size_t first = options.first[cell];
  const std::size_t n = options.count(cell);
  for (std::size_t o = first; o < first + n; ++o) {
    state.share[o] = 0.0;
    state.rerouted[o] = 0.0;
  }
  for (std::size_t slot = options.slot_first[cell]; slot < options.slot_first[cell + 1]; ++slot) {
    const SegmentSpec& segment = spec.segments[static_cast<std::size_t>(options.slot_segment[slot])];
    const double speed = std::min(1.0, lambda * segment.adjustment);
    const double weight = options.slot_weight[slot];
    const std::size_t at = options.slot_option_first[slot];
    for (std::size_t o = 0; o < n; ++o) {
      // Each segment's own immediate cut and adjustment, as for a whole buyer.
      double& share = state.slot_share[at + o];
      const double kept = std::min(share, targets.slot_cap[at + o]);
      share = clamp_rounding(kept + speed * (targets.slot_target[at + o] - kept));
      state.share[first + o] += weight * share;
      state.rerouted[first + o] += weight * share * targets.slot_reroute[at + o];
    }
  }
  double served = 0.0;
  for (std::size_t o = first; o < first + n; ++o) served += state.share[o];
  state.shortage[cell] = clamp_rounding(1.0 - served);
}

double effective_talent(const ScenarioSpec& spec, const ModelState& state, std::size_t country) {
  const double weight = spec.countries[country].remote_weight;
  if (!(weight > 0.0)) return state.talent[country];
  const std::size_t cn = spec.countries.size();
  double remote = 0.0;
  for (std::size_t j = 0; j < cn; ++j) remote += state.remote[country * cn + j];
  return state.talent[country] + weight * remote;
}

void update_capability(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                       const OptionLists& options, std::span<const EventSpec> events,
                       const Targets& targets, ModelState& state, Scratch& scratch) {
  const int sectors = spec.sector_count();
  scratch.capability_next.resize(state.capability.size());
  const double years_per_step = spec.time.months_per_step / 12.0;
  // Each cell writes only its own next capability and experience, reading this step's
  // capabilities (the next ones go to their own array): countries are independent.
  for_each_on(scratch.team, spec.countries.size(), [&](std::size_t country) {
    const auto c = static_cast<CountryId>(country);
    const double initial_talent = spec.countries[static_cast<std::size_t>(c)].talent;
    const double talent_ratio =
        initial_talent > 0.0 ? effective_talent(spec, state, static_cast<std::size_t>(c)) /
                                   initial_talent
                             : 1.0;
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
      const double idle = idle_capability(spec, options, state, cell);
      // Experience: years of demand served beyond the start's domestic share.
      const std::size_t domestic_option = options.domestic_option(cell);
      state.experience[cell] +=
          std::max(0.0, state.share[domestic_option] - options.initial_share[domestic_option]) *
          years_per_step;
      scratch.capability_next[cell] =
          std::clamp(cap + std::min(1.0 - cap, growth) - sec.depreciation * idle, 0.0, 1.0);
    }
  });
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

double bring_home(const ScenarioSpec& spec, std::size_t origin, std::size_t host, double share,
                  ModelState& state, std::span<double> flow) {
  const std::size_t pair = origin * spec.countries.size() + host;
  const double returning = share * state.diaspora[pair];
  const double remote_returning = share * state.remote[pair];
  state.diaspora[pair] -= returning;
  // Rounding must not leave more remote workers in a cell than people.
  state.remote[pair] = std::min(state.remote[pair] - remote_returning, state.diaspora[pair]);
  // Remote workers were never part of the host's talent.
  if (host != origin) flow[host] -= returning - remote_returning;
  return returning;
}

void convert_remote(const ScenarioSpec& spec, const Policy& policy, std::size_t origin,
                    ModelState& state, std::span<double> flow) {
  const double kept =
      (1.0 - spec.countries[origin].remote_attrition) * policy.remote_kept[origin];
  if (!(kept < 1.0)) return;
  const std::size_t cn = spec.countries.size();
  for (std::size_t j = 0; j < cn; ++j) {
    double& remote = state.remote[origin * cn + j];
    const double converted = remote * (1.0 - kept);
    remote -= converted;
    // They now work for employers where they live (or not at all).
    if (j != origin) flow[j] += converted;
  }
}

void settle_leavers(const ScenarioSpec& spec, std::size_t origin, std::size_t host, double moved,
                    ModelState& state, std::span<double> flow) {
  const std::size_t pair = origin * spec.countries.size() + host;
  const double remote = spec.countries[origin].remote_share * moved;
  state.diaspora[pair] += moved;
  state.remote[pair] += remote;
  if (host != origin) flow[host] += moved - remote;
}

void train_and_count_leavers(const ScenarioSpec& spec, const Parameters& params,
                             std::size_t country, double talent, double leavers,
                             ModelState& state, std::span<double> flow) {
  state.emigrants[country] += leavers;
  const double initial = spec.countries[country].talent;
  flow[country] += params.training_rate[country] * std::max(0.0, initial - talent) - leavers;
}

void apply_talent_flow(ModelState& state, std::span<const double> flow) {
  for (std::size_t c = 0; c < flow.size(); ++c) {
    state.talent[c] = std::max(0.0, state.talent[c] + flow[c]);
  }
}

void update_talent(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                   const OptionLists& options, const OptionPolicy& option_policy,
                   std::span<const EventSpec> events, ModelState& state, Scratch& scratch) {
  const auto cn = spec.countries.size();
  scratch.talent_flow.assign(cn, 0.0);
  const std::span<double> flow(scratch.talent_flow);

  // Returns come from the diaspora at the start of the step, before this step's leavers join it.
  for (std::size_t c = 0; c < cn; ++c) {
    double back = 0.0;
    for (std::size_t j = 0; j < cn; ++j) {
      const double rate = diaspora_return_rate(spec, params, policy, c, j);
      if (!(rate > 0.0)) continue;
      back += bring_home(spec, c, j, rate, state, flow);
    }
    state.returns[c] += back;
    state.return_flow[c] = back;
    flow[c] += back;
  }
  for (std::size_t c = 0; c < cn; ++c) convert_remote(spec, policy, c, state, flow);

  for (std::size_t c = 0; c < cn; ++c) {
    const double talent = state.talent[c];
    double leavers = 0.0;
    for_each_emigration_channel(
        spec, params, policy, options, option_policy, events, state, static_cast<CountryId>(c),
        [&](double hazard, std::span<const double> weights, std::span<const double> open) {
          const double channel_leavers = talent * hazard;
          leavers += channel_leavers;
          send_leavers(spec, weights, open, c, channel_leavers, state, flow);
        });
    train_and_count_leavers(spec, params, c, talent, leavers, state, flow);
  }
  apply_talent_flow(state, flow);
}

}  // namespace techdep::detail
