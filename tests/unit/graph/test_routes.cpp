#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "techdep/graph/routes.hpp"

namespace {

// Countries 0..n-1, one sector. `closed` lists the legs origin -> buyer that are closed; each
// request asks for routes of goods made at `site`, shipped by `shipper`, to `buyer`, with every relay open unless
// `relay` says otherwise.
struct RouteWorld {
  explicit RouteWorld(int n)
      : countries(n), trade_cost(static_cast<std::size_t>(n * n), 1.0) {}
  std::size_t flow(int origin, int buyer) const {
    return static_cast<std::size_t>(buyer * countries + origin);
  }
  void ask(int site, int buyer) {
    requests.push_back({buyer, 0, site, site});
    relay.resize(requests.size() * static_cast<std::size_t>(countries), 1.0);
  }
  double& relay_open(std::size_t request, int hub) {
    return relay[request * static_cast<std::size_t>(countries) + static_cast<std::size_t>(hub)];
  }
  techdep::RouteTable run(double markup, double dispersion = 8.0) const {
    techdep::RouteTable table;
    std::vector<std::size_t> legs = closed;
    std::ranges::sort(legs);
    techdep::find_routes({countries, 1, legs, trade_cost, markup, dispersion, requests, relay, 1},
                         table);
    return table;
  }
  int countries;
  std::vector<double> trade_cost, relay;
  std::vector<std::size_t> closed;
  std::vector<techdep::RouteRequest> requests;
};

double route_fraction(const techdep::RouteTable& table, std::size_t request, int hub) {
  for (std::size_t q = table.first[request]; q < table.first[request + 1]; ++q) {
    if (table.hub[q] == hub) return table.fraction[q];
  }
  return 0.0;
}

}  // namespace

TEST_CASE("Routes find the open hub and price one markup per extra hop", "[graph]") {
  RouteWorld w(3);  // 0 = site, 1 = hub, 2 = buyer
  w.ask(0, 2);
  const techdep::RouteTable table = w.run(0.3);
  REQUIRE(table.first[1] - table.first[0] == 1);
  CHECK(table.hub[0] == 1);
  CHECK(table.fraction[0] == 1.0);
  CHECK(table.availability[0] == 1.0);
  // exp(2 log 1.3) / 1.3 = 1.3
  CHECK(table.multiplier[0] == Approx(1.3).epsilon(1e-14));
}

TEST_CASE("Enforcement cuts a hub's relay in proportion to its level, and closes it at 1",
          "[graph]") {
  RouteWorld w(3);
  w.ask(0, 2);
  w.relay_open(0, 1) = 0.4;  // enforcement at level 0.6 against hub 1
  CHECK(w.run(0.3).availability[0] == Approx(0.4).epsilon(1e-15));
  w.relay_open(0, 1) = 0.0;
  const techdep::RouteTable closed = w.run(0.3);
  CHECK(closed.multiplier[0] == 0.0);
  CHECK(closed.availability[0] == 0.0);
  CHECK(closed.first[1] == closed.first[0]);
}

TEST_CASE("Routes name the last hub of a multi-hop path and never beat the direct edge",
          "[graph]") {
  RouteWorld w(4);  // 0 -> 1 -> 2 -> 3; the direct edge 0 -> 3 is dear
  w.ask(0, 3);
  w.relay_open(0, 1) = 0.0;           // hub 1 may not ship to 3
  w.closed.push_back(w.flow(0, 2));  // nor may 0 ship to 2 directly
  w.trade_cost[static_cast<std::size_t>(0 * 4 + 3)] = 5.0;
  const techdep::RouteTable table = w.run(0.1);
  REQUIRE(table.first[1] - table.first[0] == 1);
  CHECK(table.hub[0] == 2);  // the consignor the buyer's customs see
  CHECK(table.multiplier[0] == 1.0);  // exp(3 log 1.1) / (5 * 1.1) < 1, clamped
  CHECK(table.cheaper_than_direct == 1);
}

TEST_CASE("Route shares sum to 1, follow a logit in log cost and move continuously with costs",
          "[graph]") {
  // Site 0, buyer 3, hubs 1 and 2; hub 2 is dearer on its last leg by a factor f.
  const double theta = 4.0;
  double last_share = 0.5;
  for (const double f : {1.0, 1.01, 1.02, 1.03, 1.04, 1.05}) {
    RouteWorld w(4);
    w.ask(0, 3);
    w.trade_cost[static_cast<std::size_t>(2 * 4 + 3)] = f;
    const techdep::RouteTable table = w.run(0.0, theta);
    const double one = route_fraction(table, 0, 1);
    const double two = route_fraction(table, 0, 2);
    CHECK(one + two == Approx(1.0).epsilon(1e-15));
    CHECK(two == Approx(std::pow(f, -theta) / (1.0 + std::pow(f, -theta))).epsilon(1e-12));
    CHECK(two <= last_share);
    CHECK(last_share - two < 0.05);  // a 1% cost step moves shares by at most about theta / 4 %
    last_share = two;
  }
  // A very large dispersion is the cheapest route alone, without overflow.
  RouteWorld w(4);
  w.ask(0, 3);
  w.trade_cost[static_cast<std::size_t>(2 * 4 + 3)] = 1.01;
  const techdep::RouteTable sharp = w.run(0.0, 1e6);
  CHECK(route_fraction(sharp, 0, 1) == 1.0);
  CHECK(route_fraction(sharp, 0, 2) == 0.0);
}

TEST_CASE("Routes of many sectors on several threads equal those on one", "[graph]") {
  // 9 countries, 7 sectors, leg restrictions and trade costs varying by pair and sector (an LCG:
  // reproducible), some legs closed outright so routes must go around them.
  const int countries = 9;
  const int sectors = 7;
  const auto flows = static_cast<std::size_t>(countries * sectors * countries);
  std::vector<double> trade_cost(81), relay;
  std::vector<std::size_t> closed;
  std::vector<techdep::RouteRequest> requests;
  unsigned seed = 11;
  const auto next = [&seed] {
    seed = seed * 1103515245U + 12345U;
    return static_cast<double>((seed >> 8) % 1000) / 1000.0;
  };
  for (std::size_t flow = 0; flow < flows; ++flow) {
    if (next() < 0.2) closed.push_back(flow);
  }
  for (double& cost : trade_cost) cost = 1.0 + next();
  for (int s = sectors - 1; s >= 0; --s) {
    for (int buyer = 0; buyer < countries; ++buyer) {
      for (int site = 0; site < countries; ++site) {
        if (site == buyer || next() < 0.5) continue;
        requests.push_back({buyer, s, site, site});
        for (int h = 0; h < countries; ++h) relay.push_back(next() < 0.2 ? 0.0 : next());
      }
    }
  }
  techdep::RouteTable one, three;
  techdep::find_routes({countries, sectors, closed, trade_cost, 0.3, 8.0, requests, relay, 1},
                       one);
  techdep::find_routes({countries, sectors, closed, trade_cost, 0.3, 8.0, requests, relay, 3},
                       three);
  CHECK(one.multiplier == three.multiplier);
  CHECK(one.availability == three.availability);
  CHECK(one.hub == three.hub);
  CHECK(one.fraction == three.fraction);
  CHECK(one.cheaper_than_direct == three.cheaper_than_direct);
  CHECK(one.hub.size() > 100);  // the world has routes, so the comparison above means something
}

TEST_CASE("A leg closed in one sector stays open in the others", "[graph]") {
  // 0 = site, 1 = hub, 2 = buyer; two sectors. The leg 0 -> 1 is closed in sector 1 only.
  const int countries = 3;
  const int sectors = 2;
  const auto flow = [&](int origin, int buyer, int sector) {
    return static_cast<std::size_t>((buyer * sectors + sector) * countries + origin);
  };
  const std::vector<std::size_t> closed{flow(0, 1, 1)};
  const std::vector<double> trade_cost(9, 1.0);
  const std::vector<techdep::RouteRequest> requests{{2, 0, 0, 0}, {2, 1, 0, 0}};
  const std::vector<double> relay(6, 1.0);
  techdep::RouteTable table;
  techdep::find_routes({countries, sectors, closed, trade_cost, 0.3, 8.0, requests, relay, 2},
                       table);
  REQUIRE(table.first.size() == 3);
  CHECK(table.first[1] - table.first[0] == 1);  // sector 0 goes through the hub
  CHECK(table.hub[table.first[0]] == 1);
  CHECK(table.first[2] == table.first[1]);  // sector 1 has no open route
  CHECK(table.availability[1] == 0.0);
}
