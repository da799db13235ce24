#include "techdep/graph/supply_network.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <queue>
#include <thread>
#include <utility>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/edmonds_karp_max_flow.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "techdep/core/parallel.hpp"

namespace techdep {
namespace {

// Residual capacities below this count as saturated: shares are sums of doubles.
constexpr double kSaturated = 1e-12;

std::string xml_escape(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

}  // namespace

std::vector<SupplyEdge> supply_edges(const SupplyNetwork& network) {
  std::map<std::pair<int, int>, SupplyEdge> edges;
  auto add = [&](int from, int to, double weight, bool rerouted) {
    SupplyEdge& edge = edges[{from, to}];
    edge.from = from;
    edge.to = to;
    edge.weight += weight;
    if (rerouted) edge.rerouted += weight;
  };
  for (const SupplyFlow& flow : network.flows) {
    if (!(flow.share > 0.0)) continue;
    if (flow.hub < 0) {
      add(flow.origin, flow.buyer, flow.share, false);
    } else {
      add(flow.origin, flow.hub, flow.share, true);
      add(flow.hub, flow.buyer, flow.share, true);
    }
  }
  std::vector<SupplyEdge> out;
  out.reserve(edges.size());
  for (const auto& entry : edges) out.push_back(entry.second);
  return out;
}

std::vector<double> betweenness(const SupplyNetwork& network) {
  // Brandes' algorithm on compressed adjacency arrays (the graphs of W6 in docs/performance.md
  // have thousands of nodes): one breadth-first search per source, dependencies accumulated in
  // reverse search order over each node's successors, so no predecessor lists are kept. Sources
  // are cut into fixed blocks that run in parallel, each summing into its own row, and the rows
  // are added in block order: the result does not depend on the thread count.
  const std::size_t n = network.countries.size();
  std::vector<double> centrality(n, 0.0);
  if (n == 0) return centrality;
  std::vector<std::size_t> first(n + 1, 0);
  const std::vector<SupplyEdge> edges = supply_edges(network);  // sorted by (from, to)
  for (const SupplyEdge& edge : edges) ++first[static_cast<std::size_t>(edge.from) + 1];
  for (std::size_t v = 0; v < n; ++v) first[v + 1] += first[v];
  // 32-bit node numbers: the hot loops stream these arrays, and half the bytes is half the time.
  std::vector<std::uint32_t> successor(edges.size());
  for (std::size_t e = 0; e < edges.size(); ++e) successor[e] = static_cast<std::uint32_t>(edges[e].to);

  constexpr std::size_t kSourcesPerBlock = 64;
  const std::size_t blocks = (n + kSourcesPerBlock - 1) / kSourcesPerBlock;
  std::vector<double> partial(blocks * n, 0.0);
  const int threads = static_cast<int>(std::max(1U, std::min(2U, std::thread::hardware_concurrency())));
  parallel_for(blocks, threads, [&](std::size_t block) {
    std::vector<std::uint32_t> order(n), dag(successor.size());
    std::vector<std::size_t> dag_start(n + 1);
    std::vector<std::int32_t> distance(n, -1);
    // paths: shortest paths from the source; share: (1 + dependency) / paths of a finished node,
    // so a predecessor's dependency is its paths times the sum of its successors' shares.
    std::vector<double> paths(n, 0.0), share(n, 0.0);
    double* row = partial.data() + block * n;
    const std::size_t last = std::min(n, (block + 1) * kSourcesPerBlock);
    for (std::size_t source = block * kSourcesPerBlock; source < last; ++source) {
      std::size_t head = 0, tail = 0;
      order[tail++] = static_cast<std::uint32_t>(source);
      distance[source] = 0;
      paths[source] = 1.0;
      // The shortest-path edges of this search, kept in search order so that the reverse pass
      // reads only them: dag[dag_start[i] .. dag_start[i + 1]) leave the i-th node found.
      std::size_t dag_size = 0;
      while (head < tail) {
        dag_start[head] = dag_size;
        const std::uint32_t v = order[head++];
        const std::int32_t next = distance[v] + 1;
        for (std::size_t e = first[v]; e < first[v + 1]; ++e) {
          const std::uint32_t w = successor[e];
          if (distance[w] < 0) {
            distance[w] = next;
            order[tail++] = w;
          }
          if (distance[w] == next) {
            paths[w] += paths[v];
            dag[dag_size++] = w;
          }
        }
      }
      dag_start[tail] = dag_size;
      for (std::size_t i = tail; i-- > 0;) {
        const std::uint32_t v = order[i];
        double sum = 0.0;
        for (std::size_t d = dag_start[i]; d < dag_start[i + 1]; ++d) sum += share[dag[d]];
        const double dependency = paths[v] * sum;
        share[v] = (1.0 + dependency) / paths[v];
        if (v != source) row[v] += dependency;
      }
      for (std::size_t i = 0; i < tail; ++i) {  // reset only what this search touched
        const std::uint32_t v = order[i];
        distance[v] = -1;
        paths[v] = 0.0;
        share[v] = 0.0;
      }
    }
  });
  for (std::size_t block = 0; block < blocks; ++block) {
    for (std::size_t v = 0; v < n; ++v) centrality[v] += partial[block * n + v];
  }
  if (n > 2) {
    const double pairs = static_cast<double>(n - 1) * static_cast<double>(n - 2);
    for (double& value : centrality) value /= pairs;
  }
  return centrality;
}

MinCut max_flow_cut(std::size_t nodes, std::span<const SupplyEdge> edges,
                    std::span<const int> sources, int sink) {
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using Graph = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS, boost::no_property,
      boost::property<boost::edge_capacity_t, double,
                      boost::property<boost::edge_residual_capacity_t, double,
                                      boost::property<boost::edge_reverse_t,
                                                      Traits::edge_descriptor>>>>;
  using EdgeDesc = boost::graph_traits<Graph>::edge_descriptor;

  const std::size_t n = nodes;
  const std::size_t super_source = n;
  Graph graph(n + 1);

  auto capacity = boost::get(boost::edge_capacity, graph);
  auto reverse = boost::get(boost::edge_reverse, graph);
  auto residual = boost::get(boost::edge_residual_capacity, graph);

  std::vector<std::pair<EdgeDesc, std::size_t>> real_edges;  // edge -> index in `edges`
  auto add = [&](std::size_t from, std::size_t to, double cap) {
    const EdgeDesc forward = boost::add_edge(from, to, graph).first;
    const EdgeDesc backward = boost::add_edge(to, from, graph).first;
    capacity[forward] = cap;
    capacity[backward] = 0.0;
    reverse[forward] = backward;
    reverse[backward] = forward;
    return forward;
  };
  for (std::size_t e = 0; e < edges.size(); ++e) {
    const EdgeDesc forward = add(static_cast<std::size_t>(edges[e].from),
                                 static_cast<std::size_t>(edges[e].to), edges[e].weight);
    real_edges.emplace_back(forward, e);
  }
  // The bloc is one source: no edge out of it can be the bottleneck of the super-source links.
  double total = 0.0;
  for (const SupplyEdge& edge : edges) total += edge.weight;
  for (const int source : sources) {
    if (source == sink) continue;
    add(super_source, static_cast<std::size_t>(source), total + 1.0);
  }

  MinCut cut;
  cut.capacity =
      boost::edmonds_karp_max_flow(graph, super_source, static_cast<std::size_t>(sink));

  // The source side: reachable from the super-source through unsaturated residual edges.
  std::vector<unsigned char> reached(n + 1, 0);
  std::queue<std::size_t> frontier;
  reached[super_source] = 1;
  frontier.push(super_source);
  while (!frontier.empty()) {
    const std::size_t v = frontier.front();
    frontier.pop();
    for (auto [it, end] = boost::out_edges(v, graph); it != end; ++it) {
      const std::size_t w = boost::target(*it, graph);
      if (!reached[w] && residual[*it] > kSaturated) {
        reached[w] = 1;
        frontier.push(w);
      }
    }
  }
  for (const auto& [edge, index] : real_edges) {
    if (reached[boost::source(edge, graph)] && !reached[boost::target(edge, graph)]) {
      cut.edges.push_back(edges[index]);
    }
  }
  return cut;
}

MinCut min_cut(const SupplyNetwork& network, std::span<const int> sources, int sink) {
  // Only the sources' own brands (in this model a flow's origin is its brand), direct or
  // through hubs: an edge such as CHN -> RUS also carries Chinese-brand goods that no control
  // by the bloc touches, and counting them would put that edge into the "cut".
  SupplyNetwork of_sources = network;
  std::erase_if(of_sources.flows, [&](const SupplyFlow& flow) {
    return std::find(sources.begin(), sources.end(), flow.origin) == sources.end();
  });
  return max_flow_cut(network.countries.size(), supply_edges(of_sources), sources, sink);
}

void write_graphml(std::ostream& out, const SupplyNetwork& network) {
  const std::vector<double> centrality = betweenness(network);
  fmt::print(out,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n"
             "  <key id=\"betweenness\" for=\"node\" attr.name=\"betweenness\" "
             "attr.type=\"double\"/>\n"
             "  <key id=\"weight\" for=\"edge\" attr.name=\"weight\" attr.type=\"double\"/>\n"
             "  <key id=\"rerouted\" for=\"edge\" attr.name=\"rerouted\" attr.type=\"double\"/>\n"
             "  <graph id=\"{}@{}\" edgedefault=\"directed\">\n",
             xml_escape(network.sector), xml_escape(network.date));
  for (std::size_t v = 0; v < network.countries.size(); ++v) {
    fmt::print(out, "    <node id=\"{}\"><data key=\"betweenness\">{}</data></node>\n",
               xml_escape(network.countries[v]), centrality[v]);
  }
  for (const SupplyEdge& edge : supply_edges(network)) {
    fmt::print(out,
               "    <edge source=\"{}\" target=\"{}\"><data key=\"weight\">{}</data>"
               "<data key=\"rerouted\">{}</data></edge>\n",
               xml_escape(network.countries[static_cast<std::size_t>(edge.from)]),
               xml_escape(network.countries[static_cast<std::size_t>(edge.to)]), edge.weight,
               edge.rerouted);
  }
  fmt::print(out, "  </graph>\n</graphml>\n");
}

void write_dot(std::ostream& out, const SupplyNetwork& network) {
  // Pen width in points per unit of summed share: visible differences without swamping the plot.
  constexpr double kPenPerShare = 4.0;
  constexpr double kMinPen = 0.5;
  fmt::print(out, "digraph \"{} {}\" {{\n", network.sector, network.date);
  for (const std::string& country : network.countries) fmt::print(out, "  \"{}\";\n", country);
  for (const SupplyEdge& edge : supply_edges(network)) {
    fmt::print(out, "  \"{}\" -> \"{}\" [weight={}, penwidth={}{}];\n",
               network.countries[static_cast<std::size_t>(edge.from)],
               network.countries[static_cast<std::size_t>(edge.to)], edge.weight,
               std::max(kMinPen, kPenPerShare * edge.weight),
               edge.rerouted > 0.0 ? ", style=dashed" : "");
  }
  fmt::print(out, "}}\n");
}

}  // namespace techdep
