#include "techdep/graph/routes.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/graph/filtered_graph.hpp>

#include "techdep/core/parallel.hpp"

namespace techdep {
namespace {

// Compressed rows: the graph of a sector is built in one allocation from its sorted edge list
// (a dense world has C^2 edges per sector; an adjacency list allocated per edge took as long
// as the searches).
struct EdgeWeight {
  double weight = 0.0;
};
using RouteGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property,
                                                      EdgeWeight, boost::no_property,
                                                      std::uint32_t, std::uint32_t>;
using Vertex = boost::graph_traits<RouteGraph>::vertex_descriptor;
using Edge = boost::graph_traits<RouteGraph>::edge_descriptor;

// Hides every edge into or out of the buyer: a route reaches the buyer only by its last leg, so
// the legs before it never pass through the buyer.
struct AvoidingVertex {
  const RouteGraph* graph = nullptr;
  Vertex avoided = 0;
  bool operator()(const Edge& edge) const {
    return boost::source(edge, *graph) != avoided && boost::target(edge, *graph) != avoided;
  }
};

double edge_weight(double trade_cost, double markup) {
  // Agreements or `set` can bring tau (1 + mu) below 1; Dijkstra needs non-negative weights, and a
  // hop never makes a route cheaper than free.
  return std::max(0.0, std::log(trade_cost * (1.0 + markup)));
}

struct Route {
  int hub = -1;
  double fraction = 0.0;
};

}  // namespace

void find_routes(const RouteInputs& inputs, RouteTable& table) {
  const auto countries = static_cast<std::size_t>(inputs.countries);
  const auto sectors = static_cast<std::size_t>(inputs.sectors);
  const std::size_t requests = inputs.requests.size();
  table.multiplier.assign(requests, 0.0);
  table.availability.assign(requests, 0.0);
  table.cheaper_than_direct = 0;
  auto weight = [&](std::size_t from, std::size_t to) {
    return edge_weight(inputs.trade_cost[from * countries + to], inputs.reroute_markup);
  };

  // Requests in (sector, site, buyer) order: one search serves every request that shares them.
  std::vector<std::size_t> order(requests);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const RouteRequest& x = inputs.requests[a];
    const RouteRequest& y = inputs.requests[b];
    return std::tie(x.sector, x.site, x.buyer) < std::tie(y.sector, y.site, y.buyer);
  });
  std::vector<std::size_t> sector_first(sectors + 1, 0);
  for (const RouteRequest& request : inputs.requests) {
    ++sector_first[static_cast<std::size_t>(request.sector) + 1];
  }
  std::partial_sum(sector_first.begin(), sector_first.end(), sector_first.begin());
  // The closed legs of each sector as (origin, buyer) pairs, bucketed by sector.
  std::vector<std::size_t> closed_first(sectors + 1, 0);
  const auto sector_of = [&](std::size_t flow) { return flow / countries % sectors; };
  for (const std::size_t flow : inputs.closed_legs) ++closed_first[sector_of(flow) + 1];
  std::partial_sum(closed_first.begin(), closed_first.end(), closed_first.begin());
  std::vector<std::pair<std::uint32_t, std::uint32_t>> closed(inputs.closed_legs.size());
  {
    std::vector<std::size_t> next(closed_first.begin(), closed_first.end() - 1);
    for (const std::size_t flow : inputs.closed_legs) {
      closed[next[sector_of(flow)]++] = {static_cast<std::uint32_t>(flow % countries),
                                         static_cast<std::uint32_t>(flow / countries / sectors)};
    }
  }

  std::vector<std::vector<Route>> routes(requests);
  std::vector<int> cheaper(sectors, 0);
  // Sectors are independent searches writing their own requests' entries: blocks of sectors run
  // on the threads, each with its own buffers.
  parallel_blocks(sectors, static_cast<std::size_t>(std::max(1, inputs.threads)),
                  [&](std::size_t begin, std::size_t end, std::size_t) {
    std::vector<double> distance(countries);
    std::vector<Vertex> predecessor(countries);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;
    std::vector<EdgeWeight> weights;
    std::vector<double> log_weight(countries);
    std::vector<unsigned char> leg_closed(countries * countries, 0);  // [from][to]
    for (std::size_t sector = begin; sector < end; ++sector) {
      if (sector_first[sector] == sector_first[sector + 1]) continue;
      for (std::size_t n = closed_first[sector]; n < closed_first[sector + 1]; ++n) {
        leg_closed[closed[n].first * countries + closed[n].second] = 1;
      }
      // Sorted by source, then target, as compressed rows require.
      edges.clear();
      weights.clear();
      for (std::size_t from = 0; from < countries; ++from) {
        for (std::size_t to = 0; to < countries; ++to) {
          if (from == to || leg_closed[from * countries + to]) continue;
          edges.emplace_back(static_cast<std::uint32_t>(from), static_cast<std::uint32_t>(to));
          weights.push_back({weight(from, to)});
        }
      }
      for (std::size_t n = closed_first[sector]; n < closed_first[sector + 1]; ++n) {
        leg_closed[closed[n].first * countries + closed[n].second] = 0;
      }
      const RouteGraph graph(boost::edges_are_sorted, edges.begin(), edges.end(), weights.begin(),
                             static_cast<std::uint32_t>(countries));

      int searched_site = -1;
      int searched_buyer = -1;
      for (std::size_t n = sector_first[sector]; n < sector_first[sector + 1]; ++n) {
        const std::size_t r = order[n];
        const RouteRequest& request = inputs.requests[r];
        const auto buyer = static_cast<std::size_t>(request.buyer);
        const auto site = static_cast<std::size_t>(request.site);
        const auto shipper = static_cast<std::size_t>(request.shipper);
        if (request.site != searched_site || request.buyer != searched_buyer) {
          const AvoidingVertex keep{&graph, static_cast<Vertex>(buyer)};
          const boost::filtered_graph<RouteGraph, AvoidingVertex> open(graph, keep);
          boost::dijkstra_shortest_paths(
              open, static_cast<Vertex>(site),
              boost::weight_map(boost::get(&EdgeWeight::weight, open))
                  .predecessor_map(boost::make_iterator_property_map(
                      predecessor.begin(), boost::get(boost::vertex_index, graph)))
                  .distance_map(boost::make_iterator_property_map(
                      distance.begin(), boost::get(boost::vertex_index, graph)))
                  .distance_inf(std::numeric_limits<double>::infinity()));
          searched_site = request.site;
          searched_buyer = request.buyer;
        }
        const double own = shipper == site ? weight(site, buyer)
                                           : weight(site, shipper) + weight(shipper, buyer);
        const std::span<const double> relay = inputs.relay_open.subspan(r * countries, countries);
        // Log weights of the candidates, shifted by the largest: psi^-theta underflows for
        // large dispersions.
        double top = -std::numeric_limits<double>::infinity();
        double best_cost = std::numeric_limits<double>::infinity();
        for (std::size_t h = 0; h < countries; ++h) {
          log_weight[h] = -std::numeric_limits<double>::infinity();
          if (h == buyer || h == site || h == shipper || !(relay[h] > 0.0) ||
              !std::isfinite(distance[h])) {
            continue;
          }
          const double cost = distance[h] + weight(h, buyer);
          best_cost = std::min(best_cost, cost);
          const double log_psi = std::max(0.0, cost - own);
          log_weight[h] = std::log(relay[h]) - inputs.dispersion * log_psi;
          top = std::max(top, log_weight[h]);
        }
        if (!std::isfinite(top)) continue;
        if (best_cost < own) ++cheaper[sector];
        double total = 0.0;
        for (std::size_t h = 0; h < countries; ++h) {
          if (std::isfinite(log_weight[h])) total += std::exp(log_weight[h] - top);
        }
        double availability = 0.0;
        double log_multiplier = 0.0;
        std::vector<Route>& out = routes[r];
        for (std::size_t h = 0; h < countries; ++h) {
          if (!std::isfinite(log_weight[h])) continue;
          const double chosen = std::exp(log_weight[h] - top) / total;
          const double carried = chosen * relay[h];
          if (!(carried > 0.0)) continue;
          availability += carried;
          out.push_back({static_cast<int>(h), carried});
        }
        for (Route& route : out) {
          route.fraction /= availability;
          const double cost = distance[static_cast<std::size_t>(route.hub)] +
                              weight(static_cast<std::size_t>(route.hub), buyer);
          log_multiplier += route.fraction * std::max(0.0, cost - own);
        }
        table.availability[r] = std::min(1.0, availability);
        table.multiplier[r] = std::exp(log_multiplier);
      }
    }
  });
  for (const int count : cheaper) table.cheaper_than_direct += count;
  table.first.assign(requests + 1, 0);
  table.hub.clear();
  table.fraction.clear();
  for (std::size_t r = 0; r < requests; ++r) {
    for (const Route& route : routes[r]) {
      table.hub.push_back(route.hub);
      table.fraction.push_back(route.fraction);
    }
    table.first[r + 1] = table.hub.size();
  }
}

}  // namespace techdep
