#include "techdep/model/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "model/phases.hpp"
#include "techdep/matrix/ces_targets.hpp"
#include "techdep/matrix/total_dependency.hpp"

namespace techdep {

namespace {
// What `address` points at for a value the run did not compute: total dependency without a solve.
constexpr double kNotComputed = std::numeric_limits<double>::quiet_NaN();
}  // namespace

const double* MetricsFrame::address(Metric metric, CountryId country, SectorId sector,
                                   int partner, int segment) const {
  const auto c = static_cast<std::size_t>(country);
  if (segment >= 0 && per_segment(metric)) {
    const auto slot = (c * static_cast<std::size_t>(sectors) + static_cast<std::size_t>(sector)) *
                          static_cast<std::size_t>(segments) +
                      static_cast<std::size_t>(segment);
    switch (metric) {
      case Metric::DomesticShare: return &segment_domestic_share[slot];
      case Metric::ImportShare: return &segment_import_share[slot];
      case Metric::Shortage: return &segment_shortage[slot];
      case Metric::ComplianceGap: return &segment_compliance_gap[slot];
      case Metric::SupplierShare:
        return &segment_supplier_share[slot * static_cast<std::size_t>(countries) +
                                       static_cast<std::size_t>(partner)];
      default: break;
    }
  }
  const auto cell = c * static_cast<std::size_t>(sectors) + static_cast<std::size_t>(sector);
  const auto pair = cell * static_cast<std::size_t>(countries) + static_cast<std::size_t>(partner);
  const auto bloc = cell * static_cast<std::size_t>(blocs) + static_cast<std::size_t>(partner);
  // A caller that reads a breakdown its own MetricScope left out is a programming error.
  const auto breakdown = [&](const std::vector<double>& values) {
    if (values.empty()) {
      throw std::logic_error(fmt::format("metric {} was not computed in this run (MetricScope)",
                                         metric_info(metric).name));
    }
    return &values[pair];
  };
  switch (metric) {
    case Metric::DomesticShare: return &domestic_share[cell];
    case Metric::ImportShare: return &import_share[cell];
    case Metric::Shortage: return &shortage[cell];
    case Metric::SupplierShare: return &supplier_share[pair];
    case Metric::ShipperShare: return breakdown(shipper_share);
    case Metric::ReroutedShare: return &rerouted_share[cell];
    case Metric::BlocShare: return &bloc_share[bloc];
    case Metric::Hhi: return &hhi[cell];
    case Metric::Critical: return &critical[cell];
    case Metric::Capacity: return &capacity[cell];
    case Metric::PriceIndex: return &price_index[cell];
    case Metric::TotalDependency:
      return total_dependency.empty() ? &kNotComputed : &total_dependency[pair];
    case Metric::Talent: return &talent[c];
    case Metric::Emigrants: return &emigrants[c];
    case Metric::Returns: return &returns[c];
    case Metric::Diaspora: return &diaspora[c];
    case Metric::RemoteWorkers: return &remote_workers[c];
    case Metric::ReturnFlow: return &return_flow[c];
    case Metric::ComplianceGap: return &compliance_gap[cell];
    case Metric::Sovereignty: return &sovereignty[c];
    case Metric::SiteShare: return breakdown(site_share);
    case Metric::ImportValueByShipper: return breakdown(import_value_by_shipper);
    case Metric::ImportValueBySite: return breakdown(import_value_by_site);
    case Metric::ImportValueByBrand: return breakdown(import_value_by_brand);
    case Metric::ImportUnitValue: return &import_unit_value[cell];
    case Metric::ImportValue: return &import_value[cell];
    case Metric::InstalledBase: return breakdown(installed_base);
    case Metric::Distrust:
      return &distrust[c * static_cast<std::size_t>(countries) +
                       static_cast<std::size_t>(partner)];
    case Metric::DiasporaByDestination:
      return &diaspora_by_destination[c * static_cast<std::size_t>(countries) +
                                      static_cast<std::size_t>(partner)];
  }
  return &kNotComputed;
}

double MetricsFrame::value(Metric metric, CountryId country, SectorId sector, int partner,
                           int segment) const {
  return *address(metric, country, sector, partner, segment);
}

namespace detail {

// Thresholds of the GeoDep-style criticality flag (model.md section 7).
constexpr double kCriticalHhi = 0.4;
constexpr double kCriticalImportShare = 0.5;

namespace {

// The per_segment metrics of a segmented cell; returns the cell's compliance gap, the weighted
// sum of its segments' (each segment's mandate is its own).
double segment_metrics(const ScenarioSpec& spec, const Policy& policy, const OptionLists& options,
                       const ModelState& state, std::size_t cell, MetricsFrame& frame) {
  const std::size_t gn = spec.segments.size();
  const std::size_t cn = spec.countries.size();
  const std::size_t n = options.count(cell);
  const std::size_t first = options.first[cell];
  const auto dom = static_cast<std::size_t>(options.domestic[cell]);
  double gap = 0.0;
  for (std::size_t slot = options.slot_first[cell]; slot < options.slot_first[cell + 1]; ++slot) {
    const auto g = static_cast<std::size_t>(options.slot_segment[slot]);
    const std::size_t at = options.slot_option_first[slot];
    const std::size_t index = cell * gn + g;
    double served = 0.0;
    for (std::size_t o = 0; o < n; ++o) {
      const double share = state.slot_share[at + o];
      frame.segment_supplier_share[index * cn + static_cast<std::size_t>(options.origin[first + o])] +=
          share;
      served += share;
    }
    const double domestic = state.slot_share[at + dom];
    frame.segment_domestic_share[index] = domestic;
    frame.segment_import_share[index] = served - domestic;
    frame.segment_shortage[index] = std::max(0.0, 1.0 - served);
    const double mandate = std::max(policy.mandate[cell], policy.segment_mandate[index]);
    frame.segment_compliance_gap[index] = std::max(0.0, mandate - domestic);
    gap += options.slot_weight[slot] * frame.segment_compliance_gap[index];
  }
  return gap;
}

}  // namespace

double log_price_level(const ScenarioSpec& spec, const Parameters& params,
                       const OptionPolicy& option_policy, const Calibration& calibration,
                       CountryId buyer, SectorId sector, std::span<const double> log_price) {
  const double sigma = params.sectors[static_cast<std::size_t>(sector)].elasticity;
  const double exponent = 1.0 - sigma;
  const OptionLists& options = calibration.options;
  const std::size_t cell = spec.cell_index(buyer, sector);
  const std::size_t first = options.first[cell];
  const std::size_t count = options.count(cell);
  const auto domestic = static_cast<std::size_t>(options.domestic[cell]);
  // Origins outside the options have alpha = 0: their term is -inf and adds nothing.
  // log-sum-exp: p^(1 - sigma) overflows for large elasticities.
  double top = -std::numeric_limits<double>::infinity();
  auto term = [&](std::size_t o) {
    const std::size_t i = first + o;
    const double wedge =
        o == domestic ? 1.0
                      : restriction_wedge(option_policy.restriction[i], option_policy.evasion[i],
                                          option_policy.multiplier[i], exponent);
    const double log_alpha = calibration.log_alpha[i];
    if (!(wedge > 0.0) || log_alpha == -std::numeric_limits<double>::infinity()) {
      return -std::numeric_limits<double>::infinity();
    }
    return log_alpha + exponent * log_price[o] + std::log(wedge);
  };
  for (std::size_t o = 0; o < count; ++o) top = std::max(top, term(o));
  // Nothing available at any price: +inf for sigma > 1 (NaN stays NaN for the checks).
  if (!std::isfinite(top)) return top / exponent;
  double sum = 0.0;
  for (std::size_t o = 0; o < count; ++o) sum += std::exp(term(o) - top);
  return (top + std::log(sum)) / exponent;
}

CellImports cell_imports(const ScenarioSpec& spec, const LogPriceTables& tables, const OptionLists& options,
                         const OptionPolicy& option_policy, const ModelState& state,
                         std::size_t cell, std::span<double> option_value) {
  const std::size_t sn = spec.sectors.size();
  const auto buyer = static_cast<CountryId>(cell / sn);
  const std::size_t sector = cell % sn;
  CellImports totals;
  for (std::size_t o = options.first[cell]; o < options.first[cell + 1]; ++o) {
    const std::size_t i = o - options.first[cell];
    option_value[i] = 0.0;
    if (options.shipper[o] == buyer) continue;  // made and bought at home: no border crossed
    const double landed =
        std::exp(tables.price[static_cast<std::size_t>(options.origin[o]) * sn + sector] +
                 path_log_trade_cost(spec, tables, options.site[o], options.shipper[o], buyer));
    const double rerouted = state.rerouted[o];
    const double multiplier = rerouted > 0.0 ? option_policy.multiplier[o] : 1.0;
    option_value[i] = landed * ((state.share[o] - rerouted) + rerouted * multiplier);
    totals.value += option_value[i];
    totals.volume += state.share[o];
  }
  return totals;
}

void compute_metrics(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const OptionPolicy& option_policy,
                     const Calibration& calibration, const Targets& targets,
                     const ModelState& state, TotalDependencySolver* solver, Scratch& scratch,
                     MetricsFrame& frame) {
  const int countries = spec.country_count();
  const int sectors = spec.sector_count();
  const auto cn = static_cast<std::size_t>(countries);
  const auto sn = static_cast<std::size_t>(sectors);
  const OptionLists& options = calibration.options;
  const LogPriceTables& tables = scratch.log_tables;
  const RouteTable& routes = option_policy.routes;

  // Each country's cells write only their own rows of the frame.
  for_chunks_on(scratch.team, cn, 1, [&](std::size_t begin, std::size_t end, std::size_t worker) {
    const std::span<double> log_price(scratch.workers[worker].log_price);
    const std::span<double> value(scratch.workers[worker].trial_share);
    // Several options share a brand, a site or a shipper, and a hub ships for options that are
    // not its own: the partner rows are sums, cleared first.
    const auto rows = [&](std::vector<double>& v, std::size_t width) {
      return std::span<double>(v).subspan(begin * sn * width, (end - begin) * sn * width);
    };
    for (std::vector<double>* v :
         {&frame.supplier_share, &frame.shipper_share, &frame.site_share,
          &frame.import_value_by_shipper, &frame.import_value_by_site,
          &frame.import_value_by_brand, &frame.installed_base}) {
      if (!v->empty()) std::ranges::fill(rows(*v, cn), 0.0);
    }
    // The optional breakdowns the run's MetricScope left out are empty: null, and skipped.
    const auto or_null = [](std::vector<double>& v) { return v.empty() ? nullptr : v.data(); };
    double* const shipper_share = or_null(frame.shipper_share);
    double* const installed_base = or_null(frame.installed_base);
    double* const site_share = or_null(frame.site_share);
    double* const value_by_site = or_null(frame.import_value_by_site);
    double* const value_by_brand = or_null(frame.import_value_by_brand);
    double* const value_by_shipper = or_null(frame.import_value_by_shipper);
    std::ranges::fill(rows(frame.bloc_share, static_cast<std::size_t>(spec.bloc_count())), 0.0);
    std::ranges::fill(rows(frame.segment_supplier_share, spec.segments.size() * cn), 0.0);
    for (auto c = static_cast<CountryId>(begin); c < static_cast<CountryId>(end); ++c) {
      for (SectorId s = 0; s < sectors; ++s) {
        const std::size_t cell = spec.cell_index(c, s);
        const std::size_t row = spec.supply_index(c, s, 0);
        const std::size_t first = options.first[cell];
        const std::size_t count = options.count(cell);
        const CellImports imports_now =
            cell_imports(spec, tables, options, option_policy, state, cell, value);
        double imports = 0.0;
        double rerouted = 0.0;
        double installed = 0.0;
        if (installed_base != nullptr) {
          for (std::size_t o = first; o < first + count; ++o) installed += state.installed_base[o];
        }
        for (std::size_t o = first; o < first + count; ++o) {
          if (installed > 0.0) {
            installed_base[row + static_cast<std::size_t>(options.origin[o])] +=
                state.installed_base[o] / installed;
          }
          const CountryId k = options.origin[o];
          const double share = state.share[o];
          const double via_hubs = state.rerouted[o];
          frame.supplier_share[row + static_cast<std::size_t>(k)] += share;
          if (site_share != nullptr) {
            site_share[row + static_cast<std::size_t>(options.site[o])] += share;
          }
          if (shipper_share != nullptr) {
            shipper_share[row + static_cast<std::size_t>(options.shipper[o])] += share - via_hubs;
          }
          const double option_value = value[o - first];
          const double direct_value =
              share > 0.0 ? option_value * (share - via_hubs) /
                                ((share - via_hubs) +
                                 via_hubs * (via_hubs > 0.0 ? option_policy.multiplier[o] : 1.0))
                          : 0.0;
          if (imports_now.value > 0.0) {
            if (value_by_site != nullptr) {
              value_by_site[row + static_cast<std::size_t>(options.site[o])] +=
                  option_value / imports_now.value;
            }
            if (value_by_brand != nullptr) {
              value_by_brand[row + static_cast<std::size_t>(k)] += option_value / imports_now.value;
            }
            if (value_by_shipper != nullptr) {
              value_by_shipper[row + static_cast<std::size_t>(options.shipper[o])] +=
                  direct_value / imports_now.value;
            }
          }
          if (via_hubs > 0.0 && option_policy.route[o] >= 0) {
            const auto r = static_cast<std::size_t>(option_policy.route[o]);
            for (std::size_t q = routes.first[r]; q < routes.first[r + 1]; ++q) {
              const auto hub = static_cast<std::size_t>(routes.hub[q]);
              if (shipper_share != nullptr) {
                shipper_share[row + hub] += via_hubs * routes.fraction[q];
              }
              if (imports_now.value > 0.0 && value_by_shipper != nullptr) {
                value_by_shipper[row + hub] +=
                    (option_value - direct_value) * routes.fraction[q] / imports_now.value;
              }
            }
          }
          rerouted += via_hubs;
          if (k != c) imports += share;
        }
        // Concentration over import brands.
        double concentration = 0.0;
        if (imports > 0.0) {
          for (std::size_t b = options.brand_first[cell]; b < options.brand_first[cell + 1];
               ++b) {
            if (options.brand[b] == c) continue;
            const double part =
                frame.supplier_share[row + static_cast<std::size_t>(options.brand[b])] / imports;
            concentration += part * part;
          }
        }
        for (int b = 0; b < spec.bloc_count(); ++b) {
          double sum = 0.0;
          for (const CountryId member : spec.blocs[static_cast<std::size_t>(b)].members) {
            sum += frame.supplier_share[spec.supply_index(c, s, member)];
          }
          frame.bloc_share[cell * static_cast<std::size_t>(spec.bloc_count()) +
                           static_cast<std::size_t>(b)] = sum;
        }
        frame.domestic_share[cell] = state.share[options.domestic_option(cell)];
        frame.import_share[cell] = imports;
        frame.shortage[cell] = state.shortage[cell];
        frame.rerouted_share[cell] = rerouted;
        frame.hhi[cell] = concentration;
        frame.critical[cell] =
            (concentration > kCriticalHhi && imports > kCriticalImportShare) ? 1.0 : 0.0;
        frame.capacity[cell] = state.capability[cell];
        // A mandate capability cannot meet leaves foreign supply in use, not unmet demand.
        frame.compliance_gap[cell] =
            options.segmented(cell)
                ? segment_metrics(spec, policy, options, state, cell, frame)
                : std::max(0.0, policy.mandate[cell] - frame.domestic_share[cell]);
        // Indices of the start. A cell that imported nothing at the start has base 1: its import
        // value is 1 while it still imports nothing and +inf once it does, and its unit value is
        // the landed unit value itself (prices and trade costs are indices).
        const CellImports& start = calibration.imports0[cell];
        const double unit_now = imports_now.volume > 0.0 ? imports_now.value / imports_now.volume
                                                         : 1.0;
        if (start.value > 0.0) {
          frame.import_value[cell] = imports_now.value / start.value;
          frame.import_unit_value[cell] = unit_now / (start.value / start.volume);
        } else {
          frame.import_value[cell] =
              imports_now.value > 0.0 ? std::numeric_limits<double>::infinity() : 1.0;
          frame.import_unit_value[cell] = unit_now;
        }

        // The foreign prices are the targets phase's; the domestic one moved with capability.
        const std::span<double> cell_prices(log_price.data(), count);
        std::copy_n(targets.log_price.begin() + static_cast<std::ptrdiff_t>(first), count,
                    cell_prices.begin());
        const auto domestic = static_cast<std::size_t>(options.domestic[cell]);
        cell_prices[domestic] = domestic_log_price(spec, params, tables, options, state, c, s) +
                                targets.lock_in[first + domestic];
        const double level =
            log_price_level(spec, params, option_policy, calibration, c, s, cell_prices);
        frame.price_index[cell] = std::exp(level - calibration.log_price_level0[cell]);
      }
    }
  });

  for (CountryId c = 0; c < countries; ++c) {
    const auto ci = static_cast<std::size_t>(c);
    double sovereignty = 0.0;
    for (SectorId s = 0; s < sectors; ++s) {
      sovereignty += sector_weight(spec.countries[ci], s, sectors) *
                     frame.supplier_share[spec.supply_index(c, s, c)];
    }
    double abroad = 0.0;
    double remote = 0.0;
    for (std::size_t j = 0; j < cn; ++j) {
      abroad += state.diaspora[ci * cn + j];
      remote += state.remote[ci * cn + j];
    }
    frame.sovereignty[ci] = sovereignty;
    frame.talent[ci] = state.talent[ci];
    frame.emigrants[ci] = state.emigrants[ci];
    frame.returns[ci] = state.returns[ci];
    frame.diaspora[ci] = abroad;
    frame.remote_workers[ci] = remote;
    frame.return_flow[ci] = state.return_flow[ci];
    std::copy_n(state.diaspora.begin() + static_cast<std::ptrdiff_t>(ci * cn), cn,
                frame.diaspora_by_destination.begin() + static_cast<std::ptrdiff_t>(ci * cn));
    for (std::size_t k = 0; k < cn; ++k) {
      frame.distrust[ci * cn + k] =
          policy.distrust[ci * cn + k] + state.lasting_distrust[ci * cn + k];
    }
  }

  if (solver != nullptr) {
    // Only options have shares: the solver walks them instead of every origin.
    const DependencyInputs inputs{countries,      sectors,     frame.supplier_share,
                                  state.shortage, spec.supply, spec.inputs,
                                  options.brand_first, options.brand};
    solver->solve(inputs, frame.total_dependency);
  }
}

}  // namespace detail
}  // namespace techdep
