#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "techdep/graph/routes.hpp"

namespace {

// Countries 0..n-1, one sector; restriction and evasion set per flow origin -> buyer.
struct RouteWorld {
  explicit RouteWorld(int n)
      : countries(n), restriction(static_cast<std::size_t>(n * n), 0.0),
        evasion(static_cast<std::size_t>(n * n), 0.0), trade_cost(static_cast<std::size_t>(n * n), 1.0) {}
  std::size_t flow(int origin, int buyer) const {
    return static_cast<std::size_t>(buyer * countries + origin);
  }
  techdep::RouteTable run(double markup) const {
    techdep::RouteTable table;
    techdep::find_routes({countries, 1, restriction, evasion, trade_cost, markup}, table);
    return table;
  }
  int countries;
  std::vector<double> restriction, evasion, trade_cost;
};

}  // namespace

TEST_CASE("Routes find the open hub and price one markup per extra hop", "[graph]") {
  RouteWorld w(3);  // 0 = origin, 1 = hub, 2 = buyer
  w.restriction[w.flow(0, 2)] = 1.0;
  w.evasion[w.flow(0, 2)] = 0.5;
  const techdep::RouteTable table = w.run(0.3);
  CHECK(table.hub[w.flow(0, 2)] == 1);
  // exp(2 log 1.3) / 1.3 = 1.3
  CHECK(table.multiplier[w.flow(0, 2)] == Approx(1.3).epsilon(1e-14));
  CHECK(table.multiplier[w.flow(1, 2)] == 0.0);  // unrestricted flows need no route
}

TEST_CASE("Routes close when enforcement cuts the hub's own flow to the target", "[graph]") {
  RouteWorld w(3);
  w.restriction[w.flow(0, 2)] = 1.0;
  w.evasion[w.flow(0, 2)] = 0.5;
  w.restriction[w.flow(1, 2)] = 1.0;  // enforcement: hub 1 may no longer ship to 2
  const techdep::RouteTable table = w.run(0.3);
  CHECK(table.hub[w.flow(0, 2)] == -1);
  CHECK(table.multiplier[w.flow(0, 2)] == 0.0);
}

TEST_CASE("Routes name the last hub of a multi-hop path and never beat the direct edge",
          "[graph]") {
  RouteWorld w(4);  // 0 -> 1 -> 2 -> 3; the direct edge 0 -> 3 is dear and restricted
  w.restriction[w.flow(0, 3)] = 0.5;
  w.evasion[w.flow(0, 3)] = 1.0;
  w.restriction[w.flow(1, 3)] = 1.0;
  w.restriction[w.flow(0, 2)] = 1.0;
  w.trade_cost[static_cast<std::size_t>(0 * 4 + 3)] = 5.0;
  const techdep::RouteTable table = w.run(0.1);
  CHECK(table.hub[w.flow(0, 3)] == 2);  // the consignor the buyer's customs see
  CHECK(table.multiplier[w.flow(0, 3)] == 1.0);  // exp(3 log 1.1) / (5 * 1.1) < 1, clamped
  CHECK(table.cheaper_than_direct == 1);
}
