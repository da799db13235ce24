#include "techdep/report/charts.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace techdep {

namespace {

const std::string& country_id(const ScenarioSpec& spec, CountryId country) {
  return spec.countries[static_cast<std::size_t>(country)].id;
}

const std::string& sector_id(const ScenarioSpec& spec, SectorId sector) {
  return spec.sectors[static_cast<std::size_t>(sector)].id;
}

// One line per sector of a country-sector metric.
ChartPlan by_sector(const ScenarioSpec& spec, Metric metric, CountryId country,
                    std::string_view title) {
  ChartPlan chart{fmt::format("{}.{}", metric_info(metric).name, country_id(spec, country)),
                  fmt::format("{}: {}", country_id(spec, country), title),
                  std::string(metric_info(metric).unit), country, -1, {}};
  for (const SectorId sector : output_sectors(spec)) {
    chart.lines.push_back({sector_id(spec, sector), {{metric, country, sector, -1}}});
  }
  return chart;
}

// One line per demand segment of the cell, and the whole; nothing for a cell without segments.
void by_segment(const ScenarioSpec& spec, Metric metric, CountryId country, SectorId sector,
                std::string_view what, std::vector<ChartPlan>& charts) {
  ChartPlan chart{fmt::format("{}.{}.{}.segments", metric_info(metric).name,
                              country_id(spec, country),
                              spec.sectors[static_cast<std::size_t>(sector)].id),
                  fmt::format("{} {}: {}", country_id(spec, country),
                              spec.sectors[static_cast<std::size_t>(sector)].id, what),
                  std::string(metric_info(metric).unit), country, sector,
                  {{"whole demand", {{metric, country, sector, -1}}}}};
  for (const SegmentShare& row : spec.demand_segments) {
    if (row.buyer != country || row.sector != sector) continue;
    chart.lines.push_back({spec.segments[static_cast<std::size_t>(row.segment)].name,
                           {{metric, country, sector, -1, row.segment}}});
  }
  if (chart.lines.size() > 1) charts.push_back(std::move(chart));
}

// One line per partner country of a partner metric in one sector.
ChartPlan by_partner(const ScenarioSpec& spec, Metric metric, CountryId country, SectorId sector,
                     std::string_view title) {
  ChartPlan chart{fmt::format("{}.{}.{}", metric_info(metric).name, country_id(spec, country),
                              sector_id(spec, sector)),
                  fmt::format("{} {}: {}", country_id(spec, country), sector_id(spec, sector), title),
                  std::string(metric_info(metric).unit), country, sector, {}};
  for (CountryId partner = 0; partner < spec.country_count(); ++partner) {
    chart.lines.push_back({country_id(spec, partner), {{metric, country, sector, partner}}});
  }
  return chart;
}

// Total dependency summed over each bloc's members, and over the countries in no bloc.
ChartPlan dependency_by_bloc(const ScenarioSpec& spec, CountryId country, SectorId sector) {
  const Metric metric = Metric::TotalDependency;
  ChartPlan chart{fmt::format("total_dependency_by_bloc.{}.{}", country_id(spec, country),
                              sector_id(spec, sector)),
                  fmt::format("{} {}: total dependency by bloc (direct and through inputs)",
                              country_id(spec, country), sector_id(spec, sector)),
                  std::string(metric_info(metric).unit), country, sector, {}};
  std::vector<bool> in_a_bloc(static_cast<std::size_t>(spec.country_count()), false);
  for (const BlocSpec& bloc : spec.blocs) {
    ChartLine line{bloc.id, {}};
    for (const CountryId member : bloc.members) {
      line.keys.push_back({metric, country, sector, member});
      in_a_bloc[static_cast<std::size_t>(member)] = true;
    }
    chart.lines.push_back(std::move(line));
  }
  ChartLine rest{spec.blocs.empty() ? "all origins" : "outside every bloc", {}};
  for (CountryId partner = 0; partner < spec.country_count(); ++partner) {
    if (!in_a_bloc[static_cast<std::size_t>(partner)]) {
      rest.keys.push_back({metric, country, sector, partner});
    }
  }
  if (!rest.keys.empty()) chart.lines.push_back(std::move(rest));
  return chart;
}

}  // namespace

std::vector<SectorId> output_sectors(const ScenarioSpec& spec) {
  if (!spec.outputs.sectors.empty()) return spec.outputs.sectors;
  std::vector<SectorId> sectors(static_cast<std::size_t>(spec.sector_count()));
  for (SectorId sector = 0; sector < spec.sector_count(); ++sector) {
    sectors[static_cast<std::size_t>(sector)] = sector;
  }
  return sectors;
}

bool records_metric(const ScenarioSpec& spec, Metric metric) {
  const std::vector<Metric>& metrics = spec.outputs.metrics;
  return metrics.empty() || std::find(metrics.begin(), metrics.end(), metric) != metrics.end();
}

std::vector<ChartPlan> plan_charts(const ScenarioSpec& spec, const std::vector<CountryId>& focus) {
  std::vector<ChartPlan> charts;
  const auto has = [&](Metric metric) { return records_metric(spec, metric); };
  for (const CountryId country : focus) {
    if (has(Metric::Sovereignty)) {
      charts.push_back({fmt::format("sovereignty.{}", country_id(spec, country)),
                        fmt::format("{}: sovereignty (sector-weighted domestic share)",
                                    country_id(spec, country)),
                        "share", country, -1,
                        {{"sovereignty", {{Metric::Sovereignty, country, -1, -1}}}}});
    }
    if (has(Metric::DomesticShare)) {
      charts.push_back(by_sector(spec, Metric::DomesticShare, country, "domestic share by sector"));
    }
    if (has(Metric::Shortage)) {
      charts.push_back(by_sector(spec, Metric::Shortage, country, "shortage (unmet demand) by sector"));
    }
    if (has(Metric::Talent)) {
      ChartPlan talent{fmt::format("talent.{}", country_id(spec, country)),
                       fmt::format("{}: IT talent at home and abroad", country_id(spec, country)),
                       "persons", country, -1, {{"talent at home", {{Metric::Talent, country, -1, -1}}}}};
      if (has(Metric::Diaspora)) {
        talent.lines.push_back({"diaspora", {{Metric::Diaspora, country, -1, -1}}});
      }
      charts.push_back(std::move(talent));
    }
    // Lasting distrust is a state worth seeing only where the scenario lets it build.
    if (has(Metric::Distrust) && spec.countries[static_cast<std::size_t>(country)].distrust_build > 0.0) {
      ChartPlan distrust{fmt::format("distrust.{}", country_id(spec, country)),
                         fmt::format("{}: distrust of each supplier (events and lasting)",
                                     country_id(spec, country)),
                         "index", country, -1, {}};
      for (CountryId partner = 0; partner < spec.country_count(); ++partner) {
        if (partner == country) continue;
        distrust.lines.push_back(
            {country_id(spec, partner), {{Metric::Distrust, country, -1, partner}}});
      }
      charts.push_back(std::move(distrust));
    }
    for (const SectorId sector : output_sectors(spec)) {
      if (has(Metric::SupplierShare)) {
        charts.push_back(by_partner(spec, Metric::SupplierShare, country, sector,
                                    "shares by brand (whose product it is)"));
      }
      // Without production sites every brand is made at home: the site view would repeat it.
      if (has(Metric::SiteShare) && !spec.production_sites.empty()) {
        charts.push_back(by_partner(spec, Metric::SiteShare, country, sector,
                                    "shares by production site (where it was made)"));
      }
      if (has(Metric::ShipperShare)) {
        charts.push_back(by_partner(spec, Metric::ShipperShare, country, sector,
                                    "shares by shipper (who sent it: what customs see)"));
      }
      const SectorSpec& info = spec.sectors[static_cast<std::size_t>(sector)];
      if (has(Metric::InstalledBase) && (info.switching_cost > 0.0 || info.network_effect > 0.0)) {
        charts.push_back(by_partner(spec, Metric::InstalledBase, country, sector,
                                    "installed base by brand (what switching costs and networks hold)"));
      }
      if (has(Metric::TotalDependency)) charts.push_back(dependency_by_bloc(spec, country, sector));
      // Who buys: each demand segment's own story beside the whole (docs/model.md, Demand
      // segments); a gap chart only shows where a rule is not met (flat lines are dropped).
      for (const auto& [metric, what] :
           {std::pair{Metric::DomesticShare, "domestic share by demand segment (who buys)"},
            std::pair{Metric::ComplianceGap,
                      "mandate not met by demand segment (foreign supply still in use)"}}) {
        if (has(metric)) by_segment(spec, metric, country, sector, what, charts);
      }
    }
  }
  return charts;
}

std::vector<double> line_values(const ChartLine& line, std::size_t points,
                                const SeriesLookup& lookup) {
  std::vector<double> values(points, 0.0);
  for (std::size_t point = 0; point < points; ++point) {
    for (const SeriesKey& key : line.keys) values[point] += lookup(key, point);
  }
  return values;
}

void drop_flat_lines(std::vector<ChartPlan>& charts, std::size_t points, const SeriesLookup& lookup) {
  for (ChartPlan& chart : charts) {
    std::erase_if(chart.lines, [&](const ChartLine& line) {
      const std::vector<double> values = line_values(line, points, lookup);
      return std::none_of(values.begin(), values.end(),
                          [](double value) { return std::isfinite(value) && without_noise(value) != 0.0; });
    });
  }
  std::erase_if(charts, [](const ChartPlan& chart) { return chart.lines.empty(); });
}

}  // namespace techdep
