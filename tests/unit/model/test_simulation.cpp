#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "support/spec_builder.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"

namespace {

using techdep::EventType;
using techdep::Metric;
using techdep::Simulation;
using techdep::test::SpecBuilder;

// A world with every mechanism switched on but no events: four countries, two sectors, inputs
// (chips feed software and themselves), growth, depreciation, learning, distrust, talent flows.
SpecBuilder busy_world(int steps) {
  SpecBuilder b({"USA", "CHN", "RUS", "KAZ"}, {"chips", "software"}, steps);
  for (const char* s : {"chips", "software"}) {
    techdep::SectorSpec& sec = b.sector_params(s);
    sec.capacity_growth = 0.01;
    sec.depreciation = 0.01;
    sec.demand_pull = 0.5;
    sec.learning = 0.5;
    sec.talent_intensity = 1.0;
    sec.security_sensitivity = 0.2;
  }
  b.sector_params("software").elasticity = 5.0;
  b.supply("RUS", "chips", {{"RUS", 0.1}, {"USA", 0.5}, {"CHN", 0.3}, {"KAZ", 0.1}})
      .supply("RUS", "software", {{"RUS", 0.6}, {"USA", 0.4}})
      .supply("CHN", "chips", {{"CHN", 0.5}, {"USA", 0.5}})
      .supply("KAZ", "chips", {{"KAZ", 0.2}, {"CHN", 0.4}, {"USA", 0.4}})
      .capability("RUS", "chips", 0.2)
      .capability("RUS", "software", 0.7)
      .input("chips", "software", 0.2)
      .input("chips", "chips", 0.1)
      .trade_cost("USA", "RUS", 1.1)
      .price("CHN", "chips", 0.9);
  b.raw().distrust[b.raw().pair_index(b.country("RUS"), b.country("USA"))] = 0.3;
  techdep::CountrySpec& rus = b.country_params("RUS");
  rus.sanction_push = 0.02;
  rus.return_rate = 0.01;
  rus.training_rate = 0.05;
  rus.attraction[static_cast<std::size_t>(b.country("KAZ"))] = 1.0;
  b.bloc("west", {"USA"});
  return b;
}

double at(const Simulation& sim, Metric m, const SpecBuilder& b, const std::string& c,
          const std::string& s, const std::string& partner = "") {
  return sim.metrics().value(m, b.country(c), b.sector(s), partner.empty() ? 0 : b.country(partner));
}

void run_to(Simulation& sim, int step) {
  while (sim.step_index() < step) sim.step();
}

}  // namespace

TEST_CASE("Simulation stays at its initial state without events", "[model]") {
  SpecBuilder b = busy_world(240);
  SECTION("no restrictions") {}
  SECTION("restrictions in force at t = 0") {
    // A partial control with evasion through KAZ (its cap binds at t = 0 and is calibrated), and a
    // full ban on a flow with no initial share.
    b.export_control("controls", 0, "USA", "RUS", 0.6, 0.5);
    const int ban = b.add_event(EventType::ImportBan, "ban", 0, {"CHN"}, {"RUS"}, {"software"});
    b.event(ban).intensity = 1.0;
    b.country_params("RUS").sanction_push = 0.0;  // restriction exposure would drive emigration
  }
  const techdep::ScenarioSpec spec = b.build();
  Simulation sim(spec, {true, 1});
  const techdep::MetricsFrame start = sim.metrics();
  double worst = 0.0;
  while (!sim.finished()) {
    sim.step();
    const techdep::MetricsFrame& now = sim.metrics();
    for (std::size_t i = 0; i < now.supplier_share.size(); ++i) {
      worst = std::max(worst, std::abs(now.supplier_share[i] - spec.supply[i]));
    }
    for (std::size_t i = 0; i < now.shortage.size(); ++i) {
      worst = std::max(worst, std::abs(now.shortage[i] - start.shortage[i]));
      worst = std::max(worst, std::abs(now.capacity[i] - spec.capability[i]));
      worst = std::max(worst, std::abs(now.price_index[i] - 1.0));
    }
    for (std::size_t c = 0; c < now.talent.size(); ++c) {
      worst = std::max(worst, std::abs(now.talent[c] - spec.countries[c].talent) / 1000.0);
    }
  }
  CHECK(sim.step_index() == 240);
  CHECK(worst < 1e-12);
}

TEST_CASE("Simulation approaches the CES target geometrically after a price change", "[model]") {
  SpecBuilder b({"C", "A", "B"}, {"chips"}, 40);
  b.supply("C", "chips", {{"A", 0.6}, {"B", 0.4}});
  const double lambda = b.sector_params("chips").adjustment;
  const int e = b.add_event(EventType::Set, "dearer", 1);
  b.event(e).parameter = {techdep::ParamRef::Kind::Price, b.country("A"), b.sector("chips"), -1};
  b.event(e).value = 1.25;
  Simulation sim(b.build());
  // CES closed form with alpha calibrated to the start: S*_A = S0_A r / (S0_A r + S0_B),
  // r = (p_A / p0_A)^-sigma.
  const double r = std::pow(1.25, -3.0);
  const double target = 0.6 * r / (0.6 * r + 0.4);
  run_to(sim, 1);
  CHECK(at(sim, Metric::SupplierShare, b, "C", "chips", "A") == Approx(0.6).margin(1e-15));
  for (int t = 2; t <= 40; ++t) {
    sim.step();
    // The event is active from t = 1, so the state at t = 2 is the first to move.
    const double expected = target + std::pow(1.0 - lambda, t - 1) * (0.6 - target);
    CHECK(at(sim, Metric::SupplierShare, b, "C", "chips", "A") == Approx(expected).margin(1e-13));
    CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(0.0).margin(1e-15));
  }
}

namespace {

// C buys 40% at home (at full capability) and 60% from A. H could relay A's goods but is closed
// by enforcement from the start. A's control (from step 2) allows 80% evasion, but without an
// open hub nothing can evade.
SpecBuilder blocked_world() {
  SpecBuilder b({"C", "A", "H"}, {"chips"}, 40);
  b.sector_params("chips").adjustment = 0.25;
  b.sector_params("chips").depreciation = 0.02;
  b.supply("C", "chips", {{"C", 0.4}, {"A", 0.6}}).capability("C", "chips", 0.4);
  const int enforcement = b.add_event(EventType::Enforcement, "close-hub", 0, {"H"}, {"C"});
  b.event(enforcement).level = 1.0;
  b.export_control("control", 2, "A", "C", 1.0, 0.8);
  return b;
}

}  // namespace

TEST_CASE("Simulation holds the blocked share as shortage when no alternative exists", "[model]") {
  SpecBuilder b = blocked_world();
  Simulation sim(b.build());
  run_to(sim, 2);
  CHECK(at(sim, Metric::Shortage, b, "C", "chips") == 0.0);
  sim.step();  // the control is active at t = 2: the state at t = 3 carries the cut in full
  CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(0.6).margin(1e-15));
  while (!sim.finished()) {
    sim.step();
    CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(0.6).margin(1e-15));
    CHECK(at(sim, Metric::SupplierShare, b, "C", "chips", "A") == 0.0);
  }
}

TEST_CASE("Simulation closes the gap to the target shortage by (1 - lambda) per step once an "
          "alternative opens", "[model]") {
  SpecBuilder b = blocked_world();
  b.lift("open-hub", 20, 0);  // lifting the enforcement opens the route through H
  Simulation sim(b.build());
  run_to(sim, 20);
  CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(0.6).margin(1e-15));
  // Price index with only the domestic option available: (0.4)^(1 / (1 - 3)).
  CHECK(at(sim, Metric::PriceIndex, b, "C", "chips") == Approx(std::pow(0.4, -0.5)).epsilon(1e-14));
  // Target: domestic capped at 0.4; A's cap = avail (R e = 0.8) x S^ (0.6) = 0.48; U* = 0.12.
  const double target_shortage = 0.12;
  double gap = at(sim, Metric::Shortage, b, "C", "chips") - target_shortage;
  while (!sim.finished()) {
    sim.step();
    const double next_gap = at(sim, Metric::Shortage, b, "C", "chips") - target_shortage;
    CHECK(next_gap == Approx(0.75 * gap).margin(1e-14));
    gap = next_gap;
  }
  CHECK(at(sim, Metric::ShipperShare, b, "C", "chips", "H") ==
        Approx(at(sim, Metric::SupplierShare, b, "C", "chips", "A")).margin(1e-15));
  // With the hub open: (0.4 + 0.6 R e psi^(1 - sigma))^(1 / (1 - sigma)), psi = 1.3.
  const double open = std::pow(0.4 + 0.6 * 0.8 * std::pow(1.3, -2.0), -0.5);
  CHECK(at(sim, Metric::PriceIndex, b, "C", "chips") == Approx(open).epsilon(1e-14));
}

TEST_CASE("Simulation forgets a lifted and re-imposed full control when nothing else moved",
          "[model]") {
  // Lifting A's control at 10 and re-imposing the same control at 15: A's share recovers in
  // between, then the immediate cut at the re-imposition takes it back to 0. Nothing else carries
  // a memory of the interval here: domestic supply sits at its capability throughout (no idle
  // capability, so no depreciation), there is no investment or demand pull (no capability
  // growth) and no sanction push (no talent loss). So from the first state after the
  // re-imposition (t = 16) every metric equals the never-lifted run to rounding (1e-14; the
  // domestic target is reached by a different sequence of roundings).
  SpecBuilder base = blocked_world();
  SpecBuilder lifted = blocked_world();
  lifted.lift("thaw", 10, 1);
  lifted.export_control("control-again", 15, "A", "C", 1.0, 0.8);
  Simulation never(base.build());
  Simulation again(lifted.build());
  bool differed = false;
  while (!never.finished()) {
    never.step();
    again.step();
    const double a = at(again, Metric::SupplierShare, lifted, "C", "chips", "A");
    const double n = at(never, Metric::SupplierShare, base, "C", "chips", "A");
    if (never.step_index() > 10 && never.step_index() <= 15) differed = differed || a > 0.1;
    if (never.step_index() >= 16) {
      const techdep::MetricsFrame& x = never.metrics();
      const techdep::MetricsFrame& y = again.metrics();
      for (std::size_t i = 0; i < x.supplier_share.size(); ++i) {
        CHECK(std::abs(x.supplier_share[i] - y.supplier_share[i]) < 1e-14);
      }
      CHECK(std::abs(x.shortage[0] - y.shortage[0]) < 1e-14);
      CHECK(std::abs(x.capacity[0] - y.capacity[0]) < 1e-14);
      CHECK(a == n);
    }
  }
  CHECK(differed);
}

TEST_CASE("Simulation reroutes a restricted flow through the open hub", "[model]") {
  // Three countries only: with a fourth, closing H would just move the route to A -> H -> X -> C.
  SpecBuilder b({"C", "A", "H"}, {"chips"}, 120);
  b.raw().reroute_markup = 0.3;
  b.supply("C", "chips", {{"C", 0.5}, {"A", 0.5}}).capability("C", "chips", 1.0);
  b.export_control("control", 1, "A", "C", 1.0, 0.6);
  const int enforcement = b.add_event(EventType::Enforcement, "secondary", 100, {"H"}, {"C"});
  b.event(enforcement).level = 1.0;
  Simulation sim(b.build());
  run_to(sim, 99);
  // Through H the price is psi = 1.3 times the direct price: the CES target with A's weight
  // scaled by e psi^-sigma (A's cap, 0.6 x 0.5, does not bind).
  const double w = 0.6 * std::pow(1.3, -3.0);
  const double expected = w / (w + 1.0);
  const double origin = at(sim, Metric::SupplierShare, b, "C", "chips", "A");
  CHECK(origin == Approx(expected).margin(1e-12));
  CHECK(at(sim, Metric::ShipperShare, b, "C", "chips", "A") == Approx(0.0).margin(1e-15));
  CHECK(at(sim, Metric::ShipperShare, b, "C", "chips", "H") == Approx(origin).margin(1e-15));
  CHECK(at(sim, Metric::ReroutedShare, b, "C", "chips") == Approx(origin).margin(1e-15));
  CHECK(at(sim, Metric::ImportShare, b, "C", "chips") == Approx(origin).margin(1e-15));
  CHECK(at(sim, Metric::PriceIndex, b, "C", "chips") > 1.0);
  run_to(sim, 101);  // enforcement active at 100 closes H
  CHECK(at(sim, Metric::SupplierShare, b, "C", "chips", "A") == 0.0);
  CHECK(at(sim, Metric::ShipperShare, b, "C", "chips", "H") == 0.0);
  CHECK(at(sim, Metric::ReroutedShare, b, "C", "chips") == 0.0);
}

TEST_CASE("Simulation total dependency sums to 1 - U, also under shortage", "[model][matrix]") {
  SpecBuilder b = busy_world(30);
  b.export_control("controls", 3, "USA", "RUS", 1.0, 0.0);
  b.raw().outputs.countries = {b.country("RUS"), b.country("KAZ")};
  Simulation sim(b.build());
  double worst = 0.0;
  double max_shortage = 0.0;
  while (!sim.finished()) {
    sim.step();
    const techdep::MetricsFrame& m = sim.metrics();
    for (const char* c : {"RUS", "KAZ"}) {
      for (const char* s : {"chips", "software"}) {
        double sum = 0.0;
        for (const char* k : {"USA", "CHN", "RUS", "KAZ"}) sum += at(sim, Metric::TotalDependency, b, c, s, k);
        const double shortage = at(sim, Metric::Shortage, b, c, s);
        max_shortage = std::max(max_shortage, shortage);
        worst = std::max(worst, std::abs(sum - (1.0 - shortage)));
      }
    }
    CHECK(std::isnan(m.value(Metric::TotalDependency, b.country("USA"), 0, 0)));  // not an output
  }
  CHECK(max_shortage > 0.3);
  CHECK(worst < 1e-12);
  // Chips bought from China carry no Western value here; RUS software bought at home carries the
  // value of its imported chips.
  CHECK(at(sim, Metric::TotalDependency, b, "RUS", "software", "CHN") > 0.0);
}

TEST_CASE("Simulation settles a sector that uses its own output at a finite shortage", "[model]") {
  SpecBuilder b({"C", "A"}, {"chips"}, 300);
  b.supply("C", "chips", {{"C", 0.5}, {"A", 0.5}}).capability("C", "chips", 0.5);
  b.input("chips", "chips", 0.3);
  b.export_control("embargo", 1, "A", "C", 1.0);
  Simulation sim(b.build());
  double highest = 0.0;
  while (!sim.finished()) {
    sim.step();
    highest = std::max(highest, at(sim, Metric::Shortage, b, "C", "chips"));
  }
  // Fixed point: the domestic share is CapEff = 0.5 (1 - 0.3 U) and U = 1 - that share, so
  // U = 0.5 / 0.85.
  CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(0.5 / 0.85).margin(1e-12));
  CHECK(highest <= 0.5 / 0.85 + 1e-12);
}

TEST_CASE("Simulation never lets capability exceed 1, transfer included", "[model]") {
  SpecBuilder b({"X", "Y"}, {"chips"}, 200);
  b.sector_params("chips").capacity_growth = 0.5;
  b.supply("X", "chips", {{"X", 0.9}, {"Y", 0.1}}).capability("X", "chips", 1.0);
  b.supply("Y", "chips", {{"Y", 0.2}, {"X", 0.8}}).capability("Y", "chips", 0.2);
  const int pact = b.add_event(EventType::Agreement, "pact", 1, {"X", "Y"});
  b.event(pact).tech_transfer = 0.9;
  b.event(pact).trade_cost_cut = 0.5;
  const int programme = b.add_event(EventType::Investment, "programme", 1, {}, {"Y"});
  b.event(programme).intensity = 1.0;
  Simulation sim(b.build());
  double highest = 0.0;
  while (!sim.finished()) {
    sim.step();
    highest = std::max(highest, at(sim, Metric::Capacity, b, "Y", "chips"));
  }
  CHECK(highest <= 1.0);
  CHECK(highest == Approx(1.0).margin(1e-9));
}

TEST_CASE("Simulation price index is 1 at rest and rises under restriction", "[model]") {
  SpecBuilder b({"C", "A", "B"}, {"chips"}, 30);
  b.supply("C", "chips", {{"C", 0.2}, {"A", 0.5}, {"B", 0.3}}).capability("C", "chips", 0.4);
  b.export_control("control", 10, "A", "C", 0.5, 0.0);
  Simulation sim(b.build());
  CHECK(at(sim, Metric::PriceIndex, b, "C", "chips") == 1.0);
  run_to(sim, 10);
  CHECK(at(sim, Metric::PriceIndex, b, "C", "chips") == 1.0);
  sim.step();
  const double index = at(sim, Metric::PriceIndex, b, "C", "chips");
  CHECK(index > 1.0);
  CHECK(std::isfinite(index));
}

TEST_CASE("Simulation clips a mandate by capability", "[model]") {
  SpecBuilder b({"C", "A"}, {"chips"}, 120);
  b.supply("C", "chips", {{"C", 0.2}, {"A", 0.8}}).capability("C", "chips", 0.5);
  const int mandate = b.add_event(EventType::Mandate, "mandate", 1, {}, {"C"});
  b.event(mandate).domestic_share = 0.9;
  Simulation sim(b.build());
  run_to(sim, 120);
  CHECK(at(sim, Metric::DomesticShare, b, "C", "chips") == Approx(0.5).margin(1e-10));
  CHECK(at(sim, Metric::SupplierShare, b, "C", "chips", "A") == Approx(0.5).margin(1e-10));
  CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(0.0).margin(1e-10));
  // The foreign supply still in use is the compliance gap, not a shortage.
  CHECK(at(sim, Metric::ComplianceGap, b, "C", "chips") == Approx(0.4).margin(1e-10));
  Simulation before(b.build());
  CHECK(before.metrics().value(Metric::ComplianceGap, 0, 0, -1) == 0.0);  // no mandate yet
}

TEST_CASE("Simulation lets a cut-off country without domestic share produce up to its "
          "capability, and a lift restores flow smoothly", "[model]") {
  SpecBuilder b({"C", "A"}, {"chips"}, 80);
  const double lambda = b.sector_params("chips").adjustment;
  b.supply("C", "chips", {{"A", 1.0}}).capability("C", "chips", 0.3);
  const int control = b.export_control("control", 1, "A", "C", 1.0);
  b.lift("thaw", 40, control);
  Simulation sim(b.build());
  run_to(sim, 40);
  // The control is active from t = 1; domestic output climbs geometrically to the capability.
  const double domestic = 0.3 * (1.0 - std::pow(1.0 - lambda, 39));
  CHECK(at(sim, Metric::DomesticShare, b, "C", "chips") == Approx(domestic).margin(1e-14));
  CHECK(at(sim, Metric::Shortage, b, "C", "chips") == Approx(1.0 - domestic).margin(1e-14));
  double previous = at(sim, Metric::SupplierShare, b, "C", "chips", "A");
  while (!sim.finished()) {
    sim.step();
    const double share = at(sim, Metric::SupplierShare, b, "C", "chips", "A");
    // Geometric recovery toward the full share: a step of lambda times the gap, no jump.
    CHECK(share - previous == Approx(lambda * (1.0 - previous)).margin(1e-14));
    previous = share;
  }
  CHECK(previous > 0.999);
}

TEST_CASE("Simulation ramps a ban to full intensity at its until step", "[model]") {
  SpecBuilder b({"C", "A"}, {"chips"}, 12);
  b.supply("C", "chips", {{"A", 1.0}});
  const int ban = b.add_event(EventType::ImportBan, "ban", 2, {"A"}, {"C"});
  b.event(ban).intensity = 0.8;
  b.event(ban).until_step = 6;
  Simulation sim(b.build());
  // A sole supplier's cap is 1 - R, and the cut is immediate: shortage(t + 1) = R(t), with R
  // ramping 0, 0.2, 0.4, 0.6, 0.8 over t = 2..6.
  const double expected[] = {0, 0, 0, 0, 0.2, 0.4, 0.6, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};
  for (int t = 1; t <= 12; ++t) {
    sim.step();
    CHECK(at(sim, Metric::Shortage, b, "C", "chips") ==
          Approx(expected[static_cast<std::size_t>(t)]).margin(1e-15));
  }
}

TEST_CASE("Simulation reports a broken invariant with step, phase and entity", "[model]") {
  SpecBuilder b({"C", "USA"}, {"chips"}, 5);
  b.supply("C", "chips", {{"C", 0.5}, {"USA", 0.5}});
  SECTION("a NaN price in the spec") {
    b.price("USA", "chips", std::nan(""));
    try {
      Simulation sim(b.build(), {true, 1});
      FAIL("expected a NumericalError");
    } catch (const techdep::NumericalError& error) {
      const std::string what = error.what();
      CHECK(what.find("step 0") != std::string::npos);
      CHECK(what.find("phase events") != std::string::npos);
      CHECK(what.find("price USA/chips = nan") != std::string::npos);
    }
  }
  SECTION("a NaN price set by an event") {
    const int e = b.add_event(EventType::Set, "broken", 2);
    b.event(e).parameter = {techdep::ParamRef::Kind::Price, b.country("USA"), b.sector("chips"), -1};
    b.event(e).value = std::nan("");
    Simulation sim(b.build(), {true, 1});
    sim.step();
    sim.step();
    CHECK_THROWS_WITH(sim.step(), Catch::Contains("step 2, phase events: price USA/chips = nan"));
  }
}

TEST_CASE("Simulation gives bitwise identical metrics for the same spec, side by side",
          "[model]") {
  SpecBuilder b = busy_world(60);
  b.export_control("controls", 3, "USA", "RUS", 0.9, 0.5);
  const int wave = b.add_event(EventType::EmigrationWave, "wave", 5, {}, {"RUS"});
  b.event(wave).rate = 0.01;
  const techdep::ScenarioSpec spec = b.build();
  Simulation alone(spec);
  run_to(alone, 60);
  Simulation first(spec);
  Simulation second(spec);
  // Interleaved: any shared state between the two would show up as a difference.
  while (!first.finished()) {
    first.step();
    second.step();
    second.step();
    first.step();
  }
  auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
    return x.size() == y.size() &&
           std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
  };
  for (const Simulation* sim : {&first, &second}) {
    const techdep::MetricsFrame& m = sim->metrics();
    const techdep::MetricsFrame& r = alone.metrics();
    CHECK(same(m.supplier_share, r.supplier_share));
    CHECK(same(m.shipper_share, r.shipper_share));
    CHECK(same(m.shortage, r.shortage));
    CHECK(same(m.capacity, r.capacity));
    CHECK(same(m.price_index, r.price_index));
    CHECK(same(m.total_dependency, r.total_dependency));
    CHECK(same(m.talent, r.talent));
    CHECK(same(m.diaspora, r.diaspora));
  }
  CHECK(alone.metrics().emigrants[static_cast<std::size_t>(b.country("RUS"))] > 0.0);
  CHECK(alone.metrics().value(Metric::ReroutedShare, b.country("RUS"), b.sector("chips"), 0) > 0.0);
}

TEST_CASE("Simulation moves talent by hazard, destinations and returns as worked by hand",
          "[model]") {
  SpecBuilder b({"R", "K"}, {"chips"}, 4);
  b.country_params("R").talent = 1000.0;
  b.country_params("R").return_rate = 0.5;
  b.country_params("K").talent = 500.0;
  const int wave = b.add_event(EventType::EmigrationWave, "wave", 0, {}, {"R"});
  b.event(wave).rate = 0.1;
  b.event(wave).end_step = 2;
  b.event(wave).destinations = {0.0, 1.0};
  Simulation sim(b.build());
  auto country = [&](Metric m, const char* c) { return sim.metrics().value(m, b.country(c), 0, 0); };
  sim.step();  // 100 leave for K
  CHECK(country(Metric::Talent, "R") == Approx(900.0).epsilon(1e-15));
  CHECK(country(Metric::Talent, "K") == Approx(600.0).epsilon(1e-15));
  sim.step();  // 50 of the 100 return, then 10% of 900 leave
  CHECK(country(Metric::Talent, "R") == Approx(860.0).epsilon(1e-15));
  CHECK(country(Metric::Talent, "K") == Approx(640.0).epsilon(1e-15));
  CHECK(country(Metric::Emigrants, "R") == Approx(190.0).epsilon(1e-15));
  CHECK(country(Metric::Returns, "R") == Approx(50.0).epsilon(1e-15));
  CHECK(country(Metric::Diaspora, "R") == Approx(140.0).epsilon(1e-15));
  // All of them went to K, none to an unknown destination (partner R itself).
  const auto abroad_in = [&](const char* where) {
    return sim.metrics().value(Metric::DiasporaByDestination, b.country("R"), -1, b.country(where));
  };
  CHECK(abroad_in("K") == Approx(140.0).epsilon(1e-15));
  CHECK(abroad_in("R") == 0.0);
  sim.step();  // the wave has ended: half of the 140 return
  CHECK(country(Metric::Talent, "R") == Approx(930.0).epsilon(1e-15));
  CHECK(country(Metric::Diaspora, "R") == Approx(70.0).epsilon(1e-15));
}

TEST_CASE("Simulation applies a cyber incident's capacity hit once and its distrust while "
          "active", "[model]") {
  SpecBuilder b({"C", "A"}, {"chips"}, 30);
  b.sector_params("chips").security_sensitivity = 1.0;
  b.supply("C", "chips", {{"C", 0.5}, {"A", 0.5}}).capability("C", "chips", 0.8);
  const int incident = b.add_event(EventType::CyberIncident, "hack", 3, {"A"}, {"C"});
  b.event(incident).distrust = 1.0;
  b.event(incident).capacity_hit = 0.5;
  Simulation sim(b.build());
  run_to(sim, 3);
  CHECK(at(sim, Metric::Capacity, b, "C", "chips") == 0.8);
  sim.step();
  CHECK(at(sim, Metric::Capacity, b, "C", "chips") == Approx(0.4).epsilon(1e-15));
  // The domestic share is cut to the new capability at once.
  CHECK(at(sim, Metric::DomesticShare, b, "C", "chips") <= 0.4);
  run_to(sim, 30);
  CHECK(at(sim, Metric::Capacity, b, "C", "chips") == Approx(0.4).epsilon(1e-15));
  // Distrust doubles A's effective price: target 0.5 x 2^-3 / (0.5 x 2^-3 + 0.5) = 1/9, but the
  // domestic option is capped at 0.4, so A takes the rest: 0.6.
  CHECK(at(sim, Metric::SupplierShare, b, "C", "chips", "A") == Approx(0.6).margin(1e-3));
  CHECK(at(sim, Metric::PriceIndex, b, "C", "chips") > 1.0);
}
