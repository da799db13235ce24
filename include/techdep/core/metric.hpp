#pragma once
// The metric catalogue (model.md section 7): names, units and dimensions. Shared by the scenario
// loader (outputs, rules, observations name metrics), the model (computes them) and the output
// writers (label them). docs/output-format.md documents the same table.

#include <array>
#include <optional>
#include <string_view>

namespace techdep {

enum class Metric {
  DomesticShare,
  ImportShare,
  Shortage,
  SupplierShare,
  ShipperShare,
  ReroutedShare,
  BlocShare,
  Hhi,
  Critical,
  Capacity,
  PriceIndex,
  TotalDependency,
  Talent,
  Emigrants,
  Returns,
  Diaspora,
  Sovereignty,
  DiasporaByDestination,
  SiteShare,
  ImportValueByShipper,
  ImportValueBySite,
  ImportValueByBrand,
  ImportUnitValue,
  ImportValue,
  InstalledBase,
  Distrust,
  RemoteWorkers,
  ReturnFlow,
  ComplianceGap,
};

/// Which index dimensions a metric's values carry.
enum class MetricShape {
  CountrySector,         ///< one value per (country, sector)
  CountrySectorPartner,  ///< one value per (country, sector, partner country)
  CountrySectorBloc,     ///< one value per (country, sector, bloc)
  Country,               ///< one value per country
  CountryPartner,        ///< one value per (country, partner country)
};

struct MetricInfo {
  Metric metric;
  std::string_view name;
  MetricShape shape;
  std::string_view unit;
  std::string_view description;
};

inline constexpr std::array<MetricInfo, 29> kMetricCatalogue{{
    {Metric::DomesticShare, "domestic_share", MetricShape::CountrySector, "share",
     "share of the country's demand for the sector served by its own producers"},
    {Metric::ImportShare, "import_share", MetricShape::CountrySector, "share",
     "share of demand served by foreign origins"},
    {Metric::Shortage, "shortage", MetricShape::CountrySector, "share",
     "unmet share of demand"},
    {Metric::SupplierShare, "supplier_share", MetricShape::CountrySectorPartner, "share",
     "share of demand served by each origin (brand)"},
    {Metric::ShipperShare, "shipper_share", MetricShape::CountrySectorPartner, "share",
     "share of demand by the country that ships it (the hub for rerouted flows)"},
    {Metric::ReroutedShare, "rerouted_share", MetricShape::CountrySector, "share",
     "share of demand served through transshipment hubs"},
    {Metric::BlocShare, "bloc_share", MetricShape::CountrySectorBloc, "share",
     "share of demand served by origins in each bloc"},
    {Metric::Hhi, "hhi", MetricShape::CountrySector, "index 0-1",
     "Herfindahl index of import suppliers' shares, normalised over imports"},
    {Metric::Critical, "critical", MetricShape::CountrySector, "flag 0/1",
     "1 when hhi > 0.4 and import_share > 0.5"},
    {Metric::Capacity, "capacity", MetricShape::CountrySector, "share",
     "domestic capability: largest share of own demand the country can supply itself"},
    {Metric::PriceIndex, "price_index", MetricShape::CountrySector, "index, t=0 = 1",
     "CES price index of the supply mix relative to the start"},
    {Metric::TotalDependency, "total_dependency", MetricShape::CountrySectorPartner, "share",
     "value-added origin of demand, direct and through inputs; sums to 1 - shortage"},
    {Metric::Talent, "talent", MetricShape::Country, "persons", "IT/STEM talent stock at home"},
    {Metric::Emigrants, "emigrants", MetricShape::Country, "persons",
     "cumulative emigrants since the start"},
    {Metric::Returns, "returns", MetricShape::Country, "persons", "cumulative returns since the start"},
    {Metric::Diaspora, "diaspora", MetricShape::Country, "persons",
     "emigrants abroad now (cumulative emigrants minus returns)"},
    {Metric::Sovereignty, "sovereignty", MetricShape::Country, "share",
     "sector-weighted domestic share"},
    {Metric::DiasporaByDestination, "diaspora_by_destination", MetricShape::CountryPartner,
     "persons",
     "emigrants abroad now, by the country they live in (partner = the country itself: "
     "destination unknown)"},
    {Metric::SiteShare, "site_share", MetricShape::CountrySectorPartner, "share",
     "share of demand by the country where the goods were made (production site)"},
    {Metric::ImportValueByShipper, "import_value_by_shipper", MetricShape::CountrySectorPartner,
     "share", "customs view: share of import value by the country that shipped it (consignor)"},
    {Metric::ImportValueBySite, "import_value_by_site", MetricShape::CountrySectorPartner,
     "share", "customs view: share of import value by country of origin (production site)"},
    {Metric::ImportValueByBrand, "import_value_by_brand", MetricShape::CountrySectorPartner,
     "share", "share of import value by brand home country"},
    {Metric::ImportUnitValue, "import_unit_value", MetricShape::CountrySector, "index, t=0 = 1",
     "value of imports per unit of imported volume (rerouting markups raise it)"},
    {Metric::ImportValue, "import_value", MetricShape::CountrySector, "index, t=0 = 1",
     "value of imports relative to the start (volume share times unit value)"},
    {Metric::InstalledBase, "installed_base", MetricShape::CountrySectorPartner, "share",
     "each brand's share of what the buyer has installed (switching costs and network effects "
     "read it)"},
    {Metric::Distrust, "distrust", MetricShape::CountryPartner, "index >= 0",
     "the buyer's distrust of a supplier in its prices: the events' (incidents, agreements) "
     "plus the lasting distrust that sanctions, exits and incidents leave"},
    {Metric::RemoteWorkers, "remote_workers", MetricShape::Country, "persons",
     "emigrants abroad who still work remotely for home firms (part of the diaspora)"},
    {Metric::ReturnFlow, "return_flow", MetricShape::Country, "persons",
     "emigrants who came home in the last step"},
    {Metric::ComplianceGap, "compliance_gap", MetricShape::CountrySector, "share",
     "how far the domestic share falls short of the active mandate: foreign supply still in use "
     "where a mandate asks for more than domestic producers deliver (0 without a mandate)"},
}};

/// Metrics also written per demand segment (docs/model.md, Demand segments): a segmented cell
/// has one series per segment beside the whole.
constexpr bool per_segment(Metric metric) {
  return metric == Metric::DomesticShare || metric == Metric::ImportShare ||
         metric == Metric::Shortage || metric == Metric::SupplierShare ||
         metric == Metric::ComplianceGap;
}
/// The metrics of `per_segment`, for messages.
inline constexpr std::string_view kPerSegmentMetricNames =
    "domestic_share, import_share, shortage, supplier_share, compliance_gap";

constexpr const MetricInfo& metric_info(Metric metric) {
  return kMetricCatalogue[static_cast<std::size_t>(metric)];
}

constexpr std::optional<Metric> find_metric(std::string_view name) {
  for (const MetricInfo& info : kMetricCatalogue) {
    if (info.name == name) return info.metric;
  }
  return std::nullopt;
}

}  // namespace techdep
