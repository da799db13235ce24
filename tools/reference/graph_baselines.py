#!/usr/bin/python3
"""W6 with NetworkX or python-igraph: betweenness centrality (directed, unweighted paths,
normalised by (n - 1)(n - 2) as the engine's) and max flow from a source bloc to a sink (edge
capacities = weights, one super-source), compared with the engine's answers (ENGINE_JSON, written
by `techdep_bench graph`). Prints one JSON object. Needs Debian's python3-networkx and
python3-igraph (tools/bench/packages.txt).
"""

import argparse
import csv
import json
import time


def read_graph(edges_csv, sources_csv):
    with open(edges_csv, encoding="utf-8") as f:
        edges = [(int(r["from"]), int(r["to"]), float(r["weight"])) for r in csv.DictReader(f)]
    with open(sources_csv, encoding="utf-8") as f:
        sources = [int(r["node"]) for r in csv.DictReader(f)]
    nodes = 1 + max(max(u, v) for u, v, _ in edges)
    return nodes, edges, sources


def best_of(repeat, work):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = work()
        best = min(best, time.perf_counter() - start)
    return best, value


def run_networkx(nodes, edges, sources, sink, repeat):
    import networkx as nx
    graph = nx.DiGraph()
    graph.add_nodes_from(range(nodes))
    graph.add_weighted_edges_from(edges, weight="capacity")
    seconds, centrality = best_of(repeat, lambda: nx.betweenness_centrality(graph, normalized=True))
    betweenness = [centrality[v] for v in range(nodes)]
    flow_graph = graph.copy()
    total = sum(w for _, _, w in edges)
    for source in sources:
        if source != sink:
            flow_graph.add_edge("source", source, capacity=total + 1.0)
    flow_seconds, flow = best_of(repeat, lambda: nx.maximum_flow_value(flow_graph, "source", sink))
    return seconds, betweenness, flow_seconds, flow, "networkx " + nx.__version__


def run_igraph(nodes, edges, sources, sink, repeat):
    import igraph
    graph = igraph.Graph(n=nodes, edges=[(u, v) for u, v, _ in edges], directed=True)
    seconds, raw = best_of(repeat, lambda: graph.betweenness(directed=True))
    pairs = (nodes - 1) * (nodes - 2)
    betweenness = [value / pairs for value in raw]
    total = sum(w for _, _, w in edges)
    extra = [(nodes, s) for s in sources if s != sink]
    flow_graph = igraph.Graph(n=nodes + 1, edges=[(u, v) for u, v, _ in edges] + extra, directed=True)
    capacity = [w for _, _, w in edges] + [total + 1.0] * len(extra)
    flow_seconds, flow = best_of(
        repeat, lambda: flow_graph.maxflow_value(nodes, sink, capacity=capacity))
    return seconds, betweenness, flow_seconds, flow, "igraph " + igraph.__version__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("edges_csv")
    parser.add_argument("sources_csv")
    parser.add_argument("sink", type=int)
    parser.add_argument("engine_json")
    parser.add_argument("--library", choices=["networkx", "igraph"], required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    nodes, edges, sources = read_graph(args.edges_csv, args.sources_csv)
    run = run_networkx if args.library == "networkx" else run_igraph
    seconds, betweenness, flow_seconds, flow, version = run(nodes, edges, sources, args.sink,
                                                              args.repeat)
    with open(args.engine_json, encoding="utf-8") as f:
        engine = json.load(f)
    diff = max(abs(a - b) for a, b in zip(betweenness, engine["betweenness"]))
    print(json.dumps({"library": version, "betweenness_seconds": seconds,
                      "max_flow_seconds": flow_seconds, "max_flow": flow,
                      "betweenness_max_abs_diff": diff,
                      "max_flow_abs_diff": abs(flow - engine["max_flow"])}))


if __name__ == "__main__":
    main()
