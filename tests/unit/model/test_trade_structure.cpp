// Brand, production site and shipper (docs/model.md, "Brand, production site and shipper").
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "support/spec_builder.hpp"
#include "techdep/model/simulation.hpp"

using techdep::EventType;
using techdep::Metric;
using techdep::RestrictionScope;
using techdep::ScenarioSpec;
using techdep::Simulation;
using techdep::test::SpecBuilder;

namespace {

// RUS buys chips: 0.1 at home, 0.2 Chinese brands made in China, 0.7 US brands made 30% in the US,
// 50% in China and 20% in Malaysia (MYS). Half of what China makes reaches RUS through Hong Kong;
// Kazakhstan and the EU can relay.
SpecBuilder chip_world() {
  SpecBuilder b({"RUS", "CHN", "USA", "MYS", "HKG", "KAZ", "EU"}, {"chips"}, 12);
  b.supply("RUS", "chips", {{"RUS", 0.1}, {"CHN", 0.2}, {"USA", 0.7}});
  ScenarioSpec& spec = b.raw();
  const auto id = [&](const char* c) { return b.country(c); };
  spec.production_sites = {{0, id("USA"), id("CHN"), 0.5},
                           {0, id("USA"), id("USA"), 0.3},
                           {0, id("USA"), id("MYS"), 0.2}};
  std::sort(spec.production_sites.begin(), spec.production_sites.end(),
            [](const auto& a, const auto& c) { return a.site < c.site; });
  spec.shipping = {{id("RUS"), 0, id("CHN"), id("CHN"), 0.5},
                   {id("RUS"), 0, id("CHN"), id("HKG"), 0.5}};
  std::sort(spec.shipping.begin(), spec.shipping.end(),
            [](const auto& a, const auto& c) { return a.shipper < c.shipper; });
  return b;
}

double metric(const Simulation& sim, Metric m, const SpecBuilder& b, const char* partner) {
  return sim.metrics().value(m, b.country("RUS"), 0, b.country(partner));
}

}  // namespace

TEST_CASE("The 2021 world reproduces its brand, site and customs views to 1e-9", "[model]") {
  const SpecBuilder b = chip_world();
  const Simulation sim(b.build());
  // Brand view: the supply table.
  CHECK(metric(sim, Metric::SupplierShare, b, "USA") == Approx(0.7).margin(1e-9));
  CHECK(metric(sim, Metric::SupplierShare, b, "CHN") == Approx(0.2).margin(1e-9));
  // Sites: China makes the Chinese brands and half of the US ones.
  CHECK(metric(sim, Metric::SiteShare, b, "CHN") == Approx(0.2 + 0.35).margin(1e-9));
  CHECK(metric(sim, Metric::SiteShare, b, "MYS") == Approx(0.14).margin(1e-9));
  // Shippers: half of China-made goods go through Hong Kong.
  CHECK(metric(sim, Metric::ShipperShare, b, "HKG") == Approx(0.275).margin(1e-9));
  CHECK(metric(sim, Metric::ShipperShare, b, "CHN") == Approx(0.275).margin(1e-9));
  CHECK(metric(sim, Metric::ShipperShare, b, "USA") == Approx(0.21).margin(1e-9));
  // Customs by value (all prices and trade costs 1): shares of the 0.9 imported.
  CHECK(metric(sim, Metric::ImportValueByShipper, b, "HKG") == Approx(0.275 / 0.9).margin(1e-9));
  CHECK(metric(sim, Metric::ImportValueBySite, b, "CHN") == Approx(0.55 / 0.9).margin(1e-9));
  CHECK(metric(sim, Metric::ImportValueByBrand, b, "USA") == Approx(0.7 / 0.9).margin(1e-9));
  CHECK(sim.metrics().value(Metric::ImportUnitValue, b.country("RUS"), 0, -1) == 1.0);
}

TEST_CASE("A brand-home control keeps the brand's goods made abroad flowing in proportion to "
          "1 - site enforcement",
          "[model]") {
  // RUS: 0.1 at home (capability 0.1), 0.9 US brands, all made in China.
  for (const double enforcement : {0.0, 0.4, 1.0}) {
    for (const RestrictionScope scope : {RestrictionScope::Brand, RestrictionScope::Territory}) {
      SpecBuilder b({"RUS", "USA", "CHN"}, {"chips"}, 4);
      b.supply("RUS", "chips", {{"RUS", 0.1}, {"USA", 0.9}});
      b.sector_params("chips").adjustment = 1.0;
      b.raw().production_sites = {{0, b.country("USA"), b.country("CHN"), 1.0}};
      const int control = b.export_control("fdpr", 1, "USA", "RUS", 1.0);
      b.event(control).scope = scope;
      b.event(control).site_enforcement.assign(3, 1.0);
      b.event(control).site_enforcement[static_cast<std::size_t>(b.country("CHN"))] = enforcement;
      Simulation sim(b.build());
      sim.step();
      sim.step();
      // The brand rule reaches the Chinese site at its enforcement; the territorial rule does not
      // reach goods made and shipped outside the US at all.
      const double kept = scope == RestrictionScope::Brand ? 0.9 * (1.0 - enforcement) : 0.9;
      CHECK(metric(sim, Metric::SupplierShare, b, "USA") == Approx(kept).margin(1e-12));
      CHECK(metric(sim, Metric::SiteShare, b, "CHN") == Approx(kept).margin(1e-12));
      CHECK(metric(sim, Metric::ShipperShare, b, "CHN") == Approx(kept).margin(1e-12));
    }
  }
}

TEST_CASE("A coalition member never relays a controlled brand; a hub outside it does", "[model]") {
  SpecBuilder b({"RUS", "USA", "EU", "KAZ"}, {"chips"}, 6);
  b.supply("RUS", "chips", {{"RUS", 0.2}, {"USA", 0.8}});
  b.trade_cost("USA", "EU", 1.0).trade_cost("EU", "RUS", 1.0);  // the EU is the cheapest relay
  b.trade_cost("USA", "KAZ", 1.2).trade_cost("KAZ", "RUS", 1.2);
  const int control = b.add_event(EventType::ExportControl, "west", 1, {"USA", "EU"}, {"RUS"});
  b.event(control).intensity = 0.9;  // even a partial control: the EU still may not relay
  b.event(control).evasion = 1.0;
  Simulation sim(b.build());
  for (int t = 0; t < 4; ++t) sim.step();
  CHECK(metric(sim, Metric::ShipperShare, b, "EU") == 0.0);
  CHECK(metric(sim, Metric::ShipperShare, b, "KAZ") > 0.05);
  // Rerouted goods carry the relay's markups: the unit value of imports rises.
  CHECK(sim.metrics().value(Metric::ImportUnitValue, b.country("RUS"), 0, -1) > 1.0);
}

TEST_CASE("Flows rerouted by a restriction in force at t = 0 show at state 0, with no jump after",
          "[model]") {
  SpecBuilder b({"RUS", "USA", "KAZ"}, {"chips"}, 6);
  b.supply("RUS", "chips", {{"RUS", 0.2}, {"USA", 0.8}});
  b.export_control("old", 0, "USA", "RUS", 0.5, 0.6);
  Simulation sim(b.build());
  const double at_start = sim.metrics().value(Metric::ReroutedShare, b.country("RUS"), 0, -1);
  CHECK(at_start > 0.0);
  CHECK(metric(sim, Metric::ShipperShare, b, "KAZ") == Approx(at_start).epsilon(1e-12));
  sim.step();
  CHECK(sim.metrics().value(Metric::ReroutedShare, b.country("RUS"), 0, -1) ==
        Approx(at_start).epsilon(1e-12));
}

TEST_CASE("A ramped export control offers its evasion from its first step", "[model]") {
  // A full control with no evasion binds at step 2; a second control on the same flow ramps in
  // from step 2 with evasion 0.5. At step 2 its strength is 0, but its routes are open already.
  SpecBuilder b({"RUS", "USA", "KAZ"}, {"chips"}, 6);
  b.supply("RUS", "chips", {{"RUS", 0.2}, {"USA", 0.8}});
  b.export_control("full", 2, "USA", "RUS", 1.0, 0.0);
  const int ramped = b.export_control("ramped", 2, "USA", "RUS", 1.0, 0.5);
  b.event(ramped).until_step = 10;
  Simulation sim(b.build());
  for (int t = 0; t < 3; ++t) sim.step();  // state 3 shows the events active at step 2
  CHECK(sim.metrics().value(Metric::ReroutedShare, b.country("RUS"), 0, -1) > 0.0);
}

TEST_CASE("Hubs' re-export capacity grows while they relay, from its initial level", "[model]") {
  SpecBuilder b({"RUS", "USA", "KAZ"}, {"chips"}, 12);
  b.supply("RUS", "chips", {{"RUS", 0.2}, {"USA", 0.8}});
  b.sector_params("chips").adjustment = 1.0;
  b.export_control("controls", 1, "USA", "RUS", 1.0, 1.0);
  ScenarioSpec spec = b.build();
  spec.routes.initial_hub_capacity = 0.2;
  spec.routes.broker_growth = 0.5;
  Simulation sim(spec);
  std::vector<double> relayed;
  for (int t = 0; t < 6; ++t) {
    sim.step();
    relayed.push_back(sim.metrics().value(Metric::ShipperShare, b.country("RUS"), 0,
                                          b.country("KAZ")));
  }
  CHECK(relayed[1] > 0.0);
  for (std::size_t i = 2; i < relayed.size(); ++i) CHECK(relayed[i] > relayed[i - 1]);
  spec.routes.broker_growth = 0.0;
  Simulation flat(spec);
  for (int t = 0; t < 6; ++t) flat.step();
  CHECK(flat.metrics().value(Metric::ShipperShare, b.country("RUS"), 0, b.country("KAZ")) <
        relayed.back());
}
