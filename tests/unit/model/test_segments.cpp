// Demand segments (docs/model.md, "Demand segments"): a cell's demand split into kinds of buyer
// with their own elasticity, distrust weight, adjustment speed and procurement rules; defence
// served first from scarce supply; a mandate that capability cannot meet leaves foreign supply
// in use and reports the gap.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/spec_builder.hpp"
#include "techdep/model/simulation.hpp"

using techdep::EventType;
using techdep::Metric;
using techdep::ScenarioSpec;
using techdep::SegmentShare;
using techdep::SegmentSpec;
using techdep::Simulation;
using techdep::test::SpecBuilder;

namespace {

SegmentSpec segment(const std::string& id, double elasticity = 1.0, bool served_first = false) {
  SegmentSpec out;
  out.id = id;
  out.name = id;
  out.elasticity = elasticity;
  out.served_first = served_first;
  return out;
}

// R buys chips from U (0.6), C (0.2) and at home (0.2), and could make 0.4 itself. U cuts R by
// 60% at step 3 with 30% evasion through H; R later mandates domestic chips.
SpecBuilder chip_world(int steps) {
  SpecBuilder b({"R", "U", "C", "H"}, {"chips"}, steps);
  b.supply("R", "chips", {{"R", 0.2}, {"U", 0.6}, {"C", 0.2}}).capability("R", "chips", 0.4);
  b.export_control("cut", 3, "U", "R", 0.6, 0.3);
  return b;
}

void split(ScenarioSpec& spec, std::vector<SegmentSpec> segments, std::vector<double> weights) {
  spec.segments = std::move(segments);
  for (std::size_t g = 0; g < weights.size(); ++g) {
    spec.demand_segments.push_back(
        SegmentShare{0, 0, static_cast<int>(g), weights[g], -1.0});
  }
}

double at(Simulation& sim, Metric metric, int partner = -1, int segment = -1) {
  return sim.metrics().value(metric, 0, 0, partner, segment);
}

}  // namespace

TEST_CASE("Identical segments add up to the whole buyer", "[model][segments]") {
  SpecBuilder b = chip_world(40);
  const int mandate = b.add_event(EventType::Mandate, "floor", 10, {}, {"R"});
  b.event(mandate).domestic_share = 0.5;
  const ScenarioSpec whole = b.build();
  ScenarioSpec parts = whole;
  split(parts, {segment("state"), segment("firms")}, {0.3, 0.7});
  Simulation one(whole);
  Simulation two(parts);
  for (int t = 0; t < 40; ++t) {
    one.step();
    two.step();
    for (const int k : {0, 1, 2}) {
      CHECK(at(two, Metric::SupplierShare, k) == Approx(at(one, Metric::SupplierShare, k)).margin(1e-12));
      // Each segment of a split with the same parameters is the whole buyer.
      CHECK(at(two, Metric::SupplierShare, k, 0) ==
            Approx(at(one, Metric::SupplierShare, k)).margin(1e-12));
    }
    CHECK(at(two, Metric::Shortage) == Approx(at(one, Metric::Shortage)).margin(1e-12));
    CHECK(at(two, Metric::ComplianceGap) == Approx(at(one, Metric::ComplianceGap)).margin(1e-12));
  }
}

TEST_CASE("Segments with their own parameters sum to the whole", "[model][segments]") {
  SpecBuilder b = chip_world(60);
  const int mandate = b.add_event(EventType::Mandate, "decree", 12, {}, {"R"});
  b.event(mandate).domestic_share = 1.0;
  b.event(mandate).segments = {0};
  ScenarioSpec spec = b.build();
  split(spec, {segment("state", 0.5), segment("defence", 0.2, true), segment("firms", 2.0)},
        {0.2, 0.1, 0.7});
  spec.segments[2].adjustment = 0.5;
  spec.demand_segments[0].start_domestic = 0.4;  // the state buys more at home already
  Simulation sim(spec);
  for (int t = 0; t <= 60; ++t) {
    const std::vector<double> weights{0.2, 0.1, 0.7};
    for (const Metric metric : {Metric::DomesticShare, Metric::ImportShare, Metric::Shortage,
                                Metric::ComplianceGap}) {
      double sum = 0.0;
      for (int g = 0; g < 3; ++g) sum += weights[static_cast<std::size_t>(g)] * at(sim, metric, -1, g);
      CHECK(sum == Approx(at(sim, metric)).margin(1e-12));
    }
    for (const int k : {0, 1, 2}) {
      double sum = 0.0;
      for (int g = 0; g < 3; ++g) {
        sum += weights[static_cast<std::size_t>(g)] * at(sim, Metric::SupplierShare, k, g);
      }
      CHECK(sum == Approx(at(sim, Metric::SupplierShare, k)).margin(1e-12));
    }
    if (t == 0) {
      // The start: the state's own domestic share, the others share the rest of the cell's.
      CHECK(at(sim, Metric::DomesticShare, -1, 0) == Approx(0.4));
      CHECK(at(sim, Metric::DomesticShare, -1, 1) == Approx((0.2 - 0.2 * 0.4) / 0.8));
      CHECK(at(sim, Metric::DomesticShare) == Approx(0.2));
    }
    if (t < 60) sim.step();
  }
}

TEST_CASE("A world split into segments stays at rest", "[model][segments]") {
  // A partial restriction in force at t = 0, defence served first, the state at its own start.
  SpecBuilder b({"R", "U", "C", "H"}, {"chips"}, 30);
  b.supply("R", "chips", {{"R", 0.2}, {"U", 0.6}, {"C", 0.2}}).capability("R", "chips", 0.3);
  b.export_control("old", 0, "U", "R", 0.5, 0.4);
  ScenarioSpec spec = b.build();
  split(spec, {segment("state", 0.5), segment("defence", 0.2, true), segment("firms", 2.0)},
        {0.2, 0.1, 0.7});
  spec.demand_segments[0].start_domestic = 0.5;
  Simulation sim(spec);
  std::vector<double> start;
  for (int g = -1; g < 3; ++g) {
    for (const int k : {0, 1, 2}) start.push_back(at(sim, Metric::SupplierShare, k, g));
  }
  for (int t = 0; t < 30; ++t) sim.step();
  std::size_t i = 0;
  for (int g = -1; g < 3; ++g) {
    for (const int k : {0, 1, 2}) {
      CHECK(at(sim, Metric::SupplierShare, k, g) == Approx(start[i++]).margin(1e-9));
    }
  }
}

TEST_CASE("A binding mandate capability cannot meet leaves foreign supply in use",
          "[model][segments]") {
  // Decree-style rule: the state segment must buy domestic from step 5. R's producers make 0.2
  // of the cell's demand and sell all of it; with an investment programme they make more.
  const auto world = [](bool invest) {
    SpecBuilder b({"R", "U", "C", "H"}, {"chips"}, 80);
    b.supply("R", "chips", {{"R", 0.2}, {"U", 0.6}, {"C", 0.2}}).capability("R", "chips", 0.2);
    const int mandate = b.add_event(EventType::Mandate, "decree", 5, {}, {"R"});
    b.event(mandate).domestic_share = 1.0;
    b.event(mandate).segments = {0};
    if (invest) b.event(b.add_event(EventType::Investment, "programme", 5, {}, {"R"})).intensity = 1.0;
    ScenarioSpec spec = b.build();
    spec.sectors[0].capacity_growth = invest ? 0.02 : 0.0;
    split(spec, {segment("state"), segment("firms")}, {0.5, 0.5});
    return spec;
  };
  Simulation fixed(world(false));
  for (int t = 0; t < 80; ++t) fixed.step();
  // Producers keep serving the customers they have: the state cannot comply, keeps its foreign
  // chips and reports the gap; nothing is unmet.
  CHECK(at(fixed, Metric::DomesticShare, -1, 0) == Approx(0.2).margin(1e-9));
  CHECK(at(fixed, Metric::DomesticShare, -1, 1) == Approx(0.2).margin(1e-9));
  CHECK(at(fixed, Metric::ImportShare, -1, 0) == Approx(0.8).margin(1e-9));
  CHECK(at(fixed, Metric::Shortage, -1, 0) == Approx(0.0).margin(1e-9));
  CHECK(at(fixed, Metric::ComplianceGap, -1, 0) == Approx(0.8).margin(1e-9));
  CHECK(at(fixed, Metric::ComplianceGap, -1, 1) == 0.0);
  CHECK(at(fixed, Metric::ComplianceGap) == Approx(0.4).margin(1e-9));

  // New capability goes to the demand the rule leaves unserved: the state's, not the firms'.
  Simulation growing(world(true));
  for (int t = 0; t < 80; ++t) growing.step();
  const double state_domestic = at(growing, Metric::DomesticShare, -1, 0);
  CHECK(state_domestic > 0.4);
  CHECK(at(growing, Metric::DomesticShare, -1, 1) == Approx(0.2).margin(0.01));
  CHECK(at(growing, Metric::ComplianceGap, -1, 0) == Approx(1.0 - state_domestic).margin(1e-9));
}

TEST_CASE("Defence is served first from scarce supply", "[model][segments]") {
  // A 90% cut without evasion: U's chips are scarce. Defence (served first, price-insensitive)
  // keeps what it had of them; the firms lose more than the cut's share.
  SpecBuilder b({"R", "U", "C", "H"}, {"chips"}, 60);
  b.supply("R", "chips", {{"R", 0.2}, {"U", 0.6}, {"C", 0.2}}).capability("R", "chips", 0.2);
  b.export_control("cut", 3, "U", "R", 0.9, 0.0);
  ScenarioSpec spec = b.build();
  spec.sectors[0].capacity_growth = 0.0;
  ScenarioSpec equal = spec;
  split(spec, {segment("defence", 0.2, true), segment("firms")}, {0.05, 0.95});
  split(equal, {segment("defence", 0.2), segment("firms")}, {0.05, 0.95});
  Simulation first(spec);
  Simulation shared(equal);
  for (int t = 0; t < 60; ++t) {
    first.step();
    shared.step();
  }
  const double defence_first = at(first, Metric::SupplierShare, 1, 0);
  const double defence_shared = at(shared, Metric::SupplierShare, 1, 0);
  CHECK(defence_first == Approx(0.6).margin(1e-6));  // 0.05 x 0.6 < the 0.06 U still sends
  CHECK(defence_shared < 0.2);
  // The cell gets the same quantity of U's chips either way: the rule decides who has them.
  CHECK(at(first, Metric::SupplierShare, 1) == Approx(at(shared, Metric::SupplierShare, 1)).margin(1e-6));
  CHECK(at(first, Metric::SupplierShare, 1, 1) < at(shared, Metric::SupplierShare, 1, 1));
}

TEST_CASE("A price-insensitive segment moves less when prices move", "[model][segments]") {
  // C's chips become 30% dearer (trade cost) from step 3: firms (elasticity x 2) leave C
  // faster and further than the state (x 0.25).
  SpecBuilder b({"R", "U", "C", "H"}, {"chips"}, 40);
  b.supply("R", "chips", {{"R", 0.2}, {"U", 0.6}, {"C", 0.2}}).capability("R", "chips", 0.4);
  const int dearer = b.add_event(EventType::Set, "tariff", 3);
  ScenarioSpec spec = b.build();
  spec.events[static_cast<std::size_t>(dearer)].parameter.kind =
      techdep::ParamRef::Kind::TradeCost;
  spec.events[static_cast<std::size_t>(dearer)].parameter.country = 2;
  spec.events[static_cast<std::size_t>(dearer)].parameter.partner = 0;
  spec.events[static_cast<std::size_t>(dearer)].value = 1.3;
  split(spec, {segment("state", 0.25), segment("firms", 2.0)}, {0.4, 0.6});
  Simulation sim(spec);
  for (int t = 0; t < 40; ++t) sim.step();
  const double state_lost = 0.2 - at(sim, Metric::SupplierShare, 2, 0);
  const double firms_lost = 0.2 - at(sim, Metric::SupplierShare, 2, 1);
  CHECK(state_lost > 0.0);
  CHECK(firms_lost > 4.0 * state_lost);
}
