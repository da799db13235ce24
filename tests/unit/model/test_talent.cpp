// Talent that responds (docs/model.md, "6. Talent"): returns and departures that follow return
// calls, host restrictions and call-ups, and emigrants who keep working remotely for home.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "support/spec_builder.hpp"
#include "techdep/model/simulation.hpp"

using techdep::EventType;
using techdep::Metric;
using techdep::MetricsFrame;
using techdep::Mode;
using techdep::ScenarioSpec;
using techdep::Simulation;
using techdep::test::SpecBuilder;

namespace {

constexpr int kR = 0;  // the origin
constexpr int kE = 1;  // a host
constexpr int kK = 2;  // another host

// R (10,000 specialists) sends its emigrants to E and K in equal parts; E and K send nobody.
// An emigration wave from step 0 to 3 fills the diaspora.
SpecBuilder talent_world(int steps, double return_rate = 0.02, double base = 0.0) {
  SpecBuilder b({"R", "E", "K"}, {"it"}, steps);
  b.country_params("R").talent = 10'000.0;
  b.country_params("R").return_rate = return_rate;
  b.country_params("R").base_emigration = base;
  b.country_params("R").attraction = {0.0, 0.5, 0.5};
  b.country_params("E").talent = 5'000.0;
  b.country_params("K").talent = 5'000.0;
  const int wave = b.add_event(EventType::EmigrationWave, "wave", 0, {}, {"R"});
  b.event(wave).rate = 0.1;
  b.event(wave).end_step = 3;
  return b;
}

double abroad_in(const Simulation& sim, int host) {
  return sim.metrics().value(Metric::DiasporaByDestination, kR, -1, host);
}

double country_value(const Simulation& sim, Metric metric, int country) {
  return sim.metrics().value(metric, country, 0, -1);
}

bool same_bits(const std::vector<double>& x, const std::vector<double>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
}

}  // namespace

TEST_CASE("Talent bookkeeping closes to the person with every new mechanism on",
          "[model][talent]") {
  for (const Mode mode : {Mode::Aggregate, Mode::Agents}) {
    SECTION(mode == Mode::Aggregate ? "aggregate" : "agents") {
      SpecBuilder b = talent_world(80, 0.02, 0.005);
      techdep::CountrySpec& r = b.country_params("R");
      r.training_rate = 0.01;
      r.host_push = 0.05;
      r.remote_share = 0.6;
      r.remote_weight = 0.5;
      r.remote_attrition = 0.02;
      b.event(0).return_suppression = 0.5;
      const int call = b.add_event(EventType::ReturnCall, "call", 10, {"E"}, {"R"});
      b.event(call).rate = 0.1;
      b.event(call).end_step = 20;
      const int restriction = b.add_event(EventType::HostRestriction, "cards", 5, {"E"}, {"R"});
      b.event(restriction).level = 0.5;
      b.event(restriction).until_step = 15;
      const int limit = b.add_event(EventType::RemoteWorkLimit, "limit", 30, {}, {"R"});
      b.event(limit).level = 0.05;
      ScenarioSpec spec = b.build();
      spec.mode = mode;
      spec.agents.workers_per_country = 5'000;
      // The invariants include remote <= diaspora in every cell after every phase.
      Simulation sim(spec, {.check_invariants = true});

      // Nobody's destination is unknown here, so the persons are those at home (talent, which
      // counts the hosts' non-remote immigrants) plus the remote workers abroad; only training
      // adds to them.
      const auto persons = [&] {
        double total = 0.0;
        for (const int c : {kR, kE, kK}) {
          total += country_value(sim, Metric::Talent, c) +
                   country_value(sim, Metric::RemoteWorkers, c);
        }
        return total;
      };
      double expected = persons();
      double returned = 0.0;
      while (!sim.finished()) {
        const double training =
            0.01 * std::max(0.0, 10'000.0 - country_value(sim, Metric::Talent, kR));
        sim.step();
        expected += training;
        INFO("step " << sim.metrics().step);
        CHECK(persons() == Approx(expected).epsilon(1e-12));
        const double diaspora = country_value(sim, Metric::Diaspora, kR);
        CHECK(country_value(sim, Metric::Emigrants, kR) -
                  country_value(sim, Metric::Returns, kR) ==
              Approx(diaspora).epsilon(1e-12));
        CHECK(abroad_in(sim, kE) + abroad_in(sim, kK) == Approx(diaspora).epsilon(1e-12));
        CHECK(abroad_in(sim, kR) == 0.0);
        CHECK(country_value(sim, Metric::RemoteWorkers, kR) <= diaspora);
        returned += country_value(sim, Metric::ReturnFlow, kR);
        CHECK(returned == Approx(country_value(sim, Metric::Returns, kR)).epsilon(1e-12));
      }
      CHECK(country_value(sim, Metric::RemoteWorkers, kR) > 0.0);
      CHECK(country_value(sim, Metric::Returns, kR) > 0.0);
    }
  }
}

TEST_CASE("A return call raises returns only from the named hosts and only while active",
          "[model][talent]") {
  // No departures after the wave: each cell of the diaspora then shrinks by its return rate.
  const ScenarioSpec base = talent_world(30).build();
  SpecBuilder b = talent_world(30);
  const int call = b.add_event(EventType::ReturnCall, "ibs", 10, {"E"}, {"R"});
  b.event(call).rate = 0.1;
  b.event(call).end_step = 15;
  Simulation plain(base);
  Simulation called(b.build());
  for (int t = 0; t < 30; ++t) {
    const double e_before = abroad_in(called, kE);
    plain.step();
    called.step();
    INFO("step " << t);
    CHECK(abroad_in(called, kK) == abroad_in(plain, kK));
    if (t >= 3) {
      const double kept = (t >= 10 && t < 15) ? 1.0 - 0.02 - 0.1 : 1.0 - 0.02;
      CHECK(abroad_in(called, kE) == Approx(kept * e_before).epsilon(1e-14));
    }
    if (t < 10) CHECK(abroad_in(called, kE) == abroad_in(plain, kE));
  }
  CHECK(abroad_in(called, kE) < abroad_in(plain, kE));

  // Without hosts the call reaches the whole diaspora.
  SpecBuilder everywhere = talent_world(12);
  const int all = everywhere.add_event(EventType::ReturnCall, "all", 10, {}, {"R"});
  everywhere.event(all).rate = 0.1;
  Simulation wide(everywhere.build());
  for (int t = 0; t < 10; ++t) wide.step();
  const double k_before = abroad_in(wide, kK);
  wide.step();
  CHECK(abroad_in(wide, kK) == Approx((1.0 - 0.12) * k_before).epsilon(1e-14));
}

TEST_CASE("A host restriction raises returns from the hosts and lowers departures to them",
          "[model][talent]") {
  SpecBuilder b = talent_world(6);
  b.country_params("R").host_push = 0.1;
  const int cards = b.add_event(EventType::HostRestriction, "cards", 0, {"E"}, {"R"});
  b.event(cards).level = 0.5;
  b.event(cards).end_step = 3;
  Simulation sim(b.build());
  sim.step();
  // 1,000 leave; E weighs 0.5 x (1 - 0.5) against K's 0.5: a third go to E.
  CHECK(abroad_in(sim, kE) == Approx(1000.0 / 3.0).epsilon(1e-14));
  CHECK(abroad_in(sim, kK) == Approx(2000.0 / 3.0).epsilon(1e-14));
  const double e1 = abroad_in(sim, kE);
  const double k1 = abroad_in(sim, kK);
  const double home = country_value(sim, Metric::Talent, kR);
  sim.step();
  // Returns from E at 0.02 + 0.1 x 0.5, from K at 0.02; then 10% of those at home leave.
  CHECK(abroad_in(sim, kE) == Approx(0.93 * e1 + 0.1 * home / 3.0).epsilon(1e-14));
  CHECK(abroad_in(sim, kK) == Approx(0.98 * k1 + 0.2 * home / 3.0).epsilon(1e-14));
  sim.step();
  sim.step();  // the restriction ended at step 3: E is like K again
  const double e3 = abroad_in(sim, kE);
  sim.step();
  CHECK(abroad_in(sim, kE) == Approx(0.98 * e3).epsilon(1e-14));
}

TEST_CASE("A call-up's return suppression holds returns back while it lasts", "[model][talent]") {
  SpecBuilder b = talent_world(20);
  const int callup = b.add_event(EventType::EmigrationWave, "callup", 8, {}, {"R"});
  b.event(callup).rate = 0.0;
  b.event(callup).return_suppression = 0.5;
  b.event(callup).end_step = 12;
  Simulation plain(talent_world(20).build());
  Simulation held(b.build());
  for (int t = 0; t < 20; ++t) {
    const double diaspora = country_value(held, Metric::Diaspora, kR);
    plain.step();
    held.step();
    const double rate = (t >= 8 && t < 12) ? 0.01 : 0.02;
    if (t >= 3) {
      CHECK(country_value(held, Metric::ReturnFlow, kR) ==
            Approx(rate * diaspora).epsilon(1e-13));
    }
  }
  CHECK(country_value(held, Metric::Returns, kR) < country_value(plain, Metric::Returns, kR));
}

TEST_CASE("Remote workers raise the capability's talent factor and stay out of the host's",
          "[model][talent]") {
  const auto world = [](double remote_weight) {
    SpecBuilder b = talent_world(40, 0.0);
    b.supply("R", "it", {{"R", 0.5}, {"E", 0.5}});
    b.sector_params("it").capacity_growth = 0.02;
    b.sector_params("it").talent_intensity = 1.0;
    const int programme = b.add_event(EventType::Investment, "programme", 0, {}, {"R"});
    b.event(programme).intensity = 1.0;
    b.country_params("R").remote_share = 1.0;
    b.country_params("R").remote_weight = remote_weight;
    return b.build();
  };
  Simulation away(world(0.0));
  Simulation remote(world(0.5));
  for (int t = 0; t < 40; ++t) {
    away.step();
    remote.step();
  }
  const auto capacity = [](const Simulation& sim) {
    return sim.metrics().value(Metric::Capacity, kR, 0, -1);
  };
  CHECK(capacity(remote) > capacity(away) + 1e-4);
  // Everyone who left works remotely: E's and K's talent never moved.
  CHECK(country_value(remote, Metric::Talent, kE) == 5'000.0);
  CHECK(country_value(remote, Metric::RemoteWorkers, kR) ==
        Approx(country_value(remote, Metric::Diaspora, kR)).epsilon(1e-14));
}

TEST_CASE("A remote-work limit turns remote workers into emigrants working abroad",
          "[model][talent]") {
  SpecBuilder b = talent_world(12, 0.0);
  b.country_params("R").remote_share = 1.0;
  const int limit = b.add_event(EventType::RemoteWorkLimit, "limit", 5, {}, {"R"});
  b.event(limit).level = 0.2;
  Simulation sim(b.build());
  for (int t = 0; t < 5; ++t) sim.step();
  const double diaspora = country_value(sim, Metric::Diaspora, kR);
  CHECK(country_value(sim, Metric::RemoteWorkers, kR) == Approx(diaspora).epsilon(1e-14));
  CHECK(country_value(sim, Metric::Talent, kE) == 5'000.0);
  for (int t = 5; t < 12; ++t) sim.step();
  // Seven steps at 20% a month: 0.8^7 of them still remote; the others joined E's and K's talent.
  const double remote = diaspora * std::pow(0.8, 7);
  CHECK(country_value(sim, Metric::RemoteWorkers, kR) == Approx(remote).epsilon(1e-12));
  CHECK(country_value(sim, Metric::Diaspora, kR) == Approx(diaspora).epsilon(1e-14));
  CHECK(country_value(sim, Metric::Talent, kE) + country_value(sim, Metric::Talent, kK) ==
        Approx(10'000.0 + diaspora - remote).epsilon(1e-12));
}

TEST_CASE("With every new key at its default the run is bit-identical", "[model][talent]") {
  // The same world with the new events present at zero strength and a remote weight without
  // remote workers: nothing may move by a bit, in either mode.
  for (const Mode mode : {Mode::Aggregate, Mode::Agents}) {
    SpecBuilder b = talent_world(40, 0.02, 0.003);
    b.supply("R", "it", {{"R", 0.5}, {"E", 0.5}});
    b.sector_params("it").capacity_growth = 0.02;
    b.sector_params("it").talent_intensity = 1.0;
    const int programme = b.add_event(EventType::Investment, "programme", 0, {}, {"R"});
    b.event(programme).intensity = 1.0;
    ScenarioSpec plain = b.build();
    b.country_params("R").remote_weight = 0.7;
    b.add_event(EventType::ReturnCall, "call", 5, {"E"}, {"R"});
    b.add_event(EventType::HostRestriction, "cards", 5, {"E"}, {"R"});
    b.add_event(EventType::RemoteWorkLimit, "limit", 5, {}, {"R"});
    ScenarioSpec idle = b.build();
    plain.mode = mode;
    idle.mode = mode;
    plain.agents.workers_per_country = idle.agents.workers_per_country = 2'000;
    Simulation a(plain);
    Simulation c(idle);
    while (!a.finished()) {
      a.step();
      c.step();
    }
    const MetricsFrame& x = a.metrics();
    const MetricsFrame& y = c.metrics();
    CHECK(same_bits(x.talent, y.talent));
    CHECK(same_bits(x.emigrants, y.emigrants));
    CHECK(same_bits(x.returns, y.returns));
    CHECK(same_bits(x.diaspora_by_destination, y.diaspora_by_destination));
    CHECK(same_bits(x.capacity, y.capacity));
    CHECK(same_bits(x.supplier_share, y.supplier_share));
  }
}

TEST_CASE("Agent-mode workers return at the condition-driven rate", "[agents][talent]") {
  // Everyone leaves at step 0 for E (or K); from step 1 the diaspora in E returns at
  // 0.05 + host_push x level = 0.25, in K at 0.05.
  constexpr double kWorkers = 20'000;
  SpecBuilder b({"X", "E", "K"}, {"it"}, 2);
  b.country_params("X").talent = kWorkers;
  b.country_params("X").base_emigration = 1.0;
  b.country_params("X").return_rate = 0.05;
  b.country_params("X").host_push = 0.4;
  b.country_params("X").remote_share = 0.5;
  b.country_params("X").attraction = {0.0, 0.5, 0.5};
  const int cards = b.add_event(EventType::HostRestriction, "cards", 1, {"E"}, {"X"});
  b.event(cards).level = 0.5;
  ScenarioSpec spec = b.build();
  spec.mode = Mode::Agents;
  spec.agents.heterogeneity = false;
  spec.agents.workers_per_country = static_cast<int>(kWorkers);
  Simulation sim(spec);
  sim.step();
  const double e0 = sim.metrics().value(Metric::DiasporaByDestination, 0, -1, 1);
  const double k0 = sim.metrics().value(Metric::DiasporaByDestination, 0, -1, 2);
  CHECK(country_value(sim, Metric::RemoteWorkers, 0) == Approx(0.5 * kWorkers));
  sim.step();
  const double back_e = e0 - sim.metrics().value(Metric::DiasporaByDestination, 0, -1, 1);
  const double back_k = k0 - sim.metrics().value(Metric::DiasporaByDestination, 0, -1, 2);
  // The agents are a sample of kWorkers persons: the same count of agents.
  CHECK(std::abs(back_e - 0.25 * e0) <= 4.0 * std::sqrt(e0 * 0.25 * 0.75));
  CHECK(std::abs(back_k - 0.05 * k0) <= 4.0 * std::sqrt(k0 * 0.05 * 0.95));
  CHECK(country_value(sim, Metric::RemoteWorkers, 0) <= country_value(sim, Metric::Diaspora, 0));
}
