// techdep_bench: the C++ side of the benchmark harness (tools/bench/run.sh, docs/performance.md).
//
//   techdep_bench dump-td SCENARIO OUT_DIR [--every N] [--set PATH=VALUE ...]
//       Runs the scenario and writes, at every N-th step, what the total-dependency solver read
//       (shares, shortages) and what it returned for the focus buyers, as raw little-endian
//       arrays plus meta.json, so the NumPy baselines solve the very same systems and their
//       answers can be compared with the engine's.
//   techdep_bench time-td DUMP_DIR [--repeat R] [--threads T]
//       Solves the dumped systems again in order with the engine's solver (warm starts carried
//       from dumped step to dumped step, as the baselines do) and prints the best time of R runs
//       and the largest difference from the dumped answers.
//   techdep_bench graph EDGES_CSV SOURCES_CSV SINK OUT_JSON [--repeat R]
//       Betweenness centrality and max flow of a directed graph with the engine's graph module.
//   techdep_bench stream [--small-kib K] [--large-mib M]
//       A STREAM-like triad (a = b + q c) in cache and from memory, on 1 and 2 threads: the
//       bandwidth the roofline of docs/performance.md is measured against.
//
// Prints one JSON object per command on stdout; the harness reads them.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <fmt/format.h>

#include "techdep/graph/supply_network.hpp"
#include "techdep/matrix/total_dependency.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the whole process (every thread): on a loaded machine, wall time also counts the
// time other processes had the cores; CPU time does not.
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

[[noreturn]] void usage(const std::string& message) {
  std::cerr << "techdep_bench: " << message << "\n(see the comment at the top of bench_tool.cpp)\n";
  std::exit(2);
}

template <class T>
void write_raw(const std::string& path, const std::vector<T>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(T)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

template <class T>
void append_raw(std::ofstream& out, std::span<const T> values) {
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(T)));
}

template <class T>
std::vector<T> read_raw(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot read " + path);
  const auto bytes = static_cast<std::size_t>(in.tellg());
  std::vector<T> values(bytes / sizeof(T));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(bytes));
  return values;
}

// meta.json holds only integers: a tiny reader is enough and keeps this tool free of JSON deps.
int meta_int(const std::string& text, const std::string& key) {
  const std::size_t at = text.find("\"" + key + "\":");
  if (at == std::string::npos) throw std::runtime_error("meta.json lacks " + key);
  return std::stoi(text.substr(at + key.size() + 3));
}

std::vector<int> meta_ints(const std::string& text, const std::string& key) {
  const std::size_t at = text.find("\"" + key + "\": [");
  if (at == std::string::npos) throw std::runtime_error("meta.json lacks " + key);
  const std::size_t open = at + key.size() + 5;
  const std::string list = text.substr(open, text.find(']', open) - open);
  std::vector<int> values;
  std::stringstream items(list);
  for (std::string item; std::getline(items, item, ',');) values.push_back(std::stoi(item));
  return values;
}

int dump_td(int argc, char** argv) {
  if (argc < 4) usage("dump-td SCENARIO OUT_DIR [--every N] [--set PATH=VALUE ...]");
  const std::string scenario_path = argv[2];
  const std::string out_dir = argv[3];
  int every = 1;
  techdep::LoadOptions options;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--every") {
      every = std::stoi(argv[i + 1]);
    } else if (flag == "--set") {
      options.overrides.push_back({argv[i + 1]});
    } else {
      usage("unknown option " + flag);
    }
  }
  const techdep::LoadedScenario loaded = techdep::load_scenario(scenario_path, options);
  const techdep::ScenarioSpec& spec = loaded.spec;
  const int countries = spec.country_count();
  const int sectors = spec.sector_count();
  std::vector<int> focus(spec.outputs.countries.begin(), spec.outputs.countries.end());
  if (focus.empty()) {
    focus.resize(static_cast<std::size_t>(countries));
    std::iota(focus.begin(), focus.end(), 0);
  }

  write_raw(out_dir + "/inputs.f64", spec.inputs);
  write_raw(out_dir + "/initial_share.f64", spec.supply);
  std::ofstream share_out(out_dir + "/share.f64", std::ios::binary);
  std::ofstream shortage_out(out_dir + "/shortage.f64", std::ios::binary);
  std::ofstream td_out(out_dir + "/td.f64", std::ios::binary);
  const std::size_t row = static_cast<std::size_t>(sectors) * static_cast<std::size_t>(countries);

  techdep::Simulation simulation(spec);
  std::vector<int> steps;
  const auto start = Clock::now();
  while (true) {
    const int step = simulation.step_index();
    if (step % every == 0) {
      const techdep::MetricsFrame& frame = simulation.metrics();
      append_raw<double>(share_out, frame.supplier_share);
      append_raw<double>(shortage_out, frame.shortage);
      for (const int c : focus) {
        append_raw<double>(td_out, std::span<const double>(frame.total_dependency)
                                       .subspan(static_cast<std::size_t>(c) * row, row));
      }
      steps.push_back(step);
    }
    if (simulation.finished()) break;
    simulation.step();
  }
  const double elapsed = seconds_since(start);
  std::ofstream meta(out_dir + "/meta.json");
  meta << fmt::format(
      "{{\"countries\": {}, \"sectors\": {}, \"dumped\": {}, \"focus\": [{}], \"steps\": [{}]}}\n",
      countries, sectors, steps.size(), fmt::join(focus, ", "), fmt::join(steps, ", "));
  fmt::print("{{\"command\": \"dump-td\", \"dumped\": {}, \"simulate_seconds\": {:.6f}}}\n",
             steps.size(), elapsed);
  return 0;
}

int time_td(int argc, char** argv) {
  if (argc < 3) usage("time-td DUMP_DIR [--repeat R] [--threads T]");
  const std::string dir = argv[2];
  int repeat = 3;
  int threads = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--repeat") {
      repeat = std::stoi(argv[i + 1]);
    } else if (flag == "--threads") {
      threads = std::stoi(argv[i + 1]);
    } else {
      usage("unknown option " + flag);
    }
  }
  std::ifstream meta_in(dir + "/meta.json");
  const std::string meta((std::istreambuf_iterator<char>(meta_in)), std::istreambuf_iterator<char>());
  const int countries = meta_int(meta, "countries");
  const int sectors = meta_int(meta, "sectors");
  const int dumped = meta_int(meta, "dumped");
  const std::vector<int> focus = meta_ints(meta, "focus");
  const std::vector<double> inputs = read_raw<double>(dir + "/inputs.f64");
  const std::vector<double> initial = read_raw<double>(dir + "/initial_share.f64");
  const std::vector<double> share = read_raw<double>(dir + "/share.f64");
  const std::vector<double> shortage = read_raw<double>(dir + "/shortage.f64");
  const std::vector<double> td = read_raw<double>(dir + "/td.f64");
  const std::size_t cells = static_cast<std::size_t>(countries) * static_cast<std::size_t>(sectors);
  const std::size_t flows = cells * static_cast<std::size_t>(countries);
  const std::size_t row = static_cast<std::size_t>(sectors) * static_cast<std::size_t>(countries);

  double best = std::numeric_limits<double>::infinity();
  double best_cpu = best;
  double max_diff = 0.0;
  int max_iterations = 0;
  long total_iterations = 0;
  std::vector<double> out(flows, 0.0);
  for (int r = 0; r < repeat; ++r) {
    techdep::TotalDependencySolver solver(countries, sectors, focus, threads);
    total_iterations = 0;
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    for (int d = 0; d < dumped; ++d) {
      const auto step = static_cast<std::size_t>(d);
      const techdep::DependencyInputs in{countries, sectors,
                                         std::span<const double>(share).subspan(step * flows, flows),
                                         std::span<const double>(shortage).subspan(step * cells, cells),
                                         initial, inputs, {}, {}};
      const techdep::DependencySolveReport report = solver.solve(in, out);
      max_iterations = std::max(max_iterations, report.iterations);
      total_iterations += report.iterations;
      if (r == 0) {
        for (std::size_t f = 0; f < focus.size(); ++f) {
          const std::size_t from = static_cast<std::size_t>(focus[f]) * row;
          const std::size_t dumped_at = (step * focus.size() + f) * row;
          for (std::size_t i = 0; i < row; ++i) {
            max_diff = std::max(max_diff, std::abs(out[from + i] - td[dumped_at + i]));
          }
        }
      }
    }
    best = std::min(best, seconds_since(start));
    best_cpu = std::min(best_cpu, cpu_seconds() - cpu_start);
  }
  fmt::print(
      "{{\"command\": \"time-td\", \"solves\": {}, \"seconds\": {:.6f}, \"cpu_seconds\": {:.6f}, "
      "\"max_abs_diff\": {:.3e}, \"max_iterations\": {}, \"total_iterations\": {}}}\n",
      dumped, best, best_cpu, max_diff, max_iterations, total_iterations);
  return 0;
}

int graph(int argc, char** argv) {
  if (argc < 6) usage("graph EDGES_CSV SOURCES_CSV SINK OUT_JSON [--repeat R]");
  int repeat = 3;
  if (argc >= 8 && std::string(argv[6]) == "--repeat") repeat = std::stoi(argv[7]);
  techdep::SupplyNetwork network;
  std::ifstream edges(argv[2]);
  std::string line;
  std::getline(edges, line);  // header: from,to,weight
  int nodes = 0;
  while (std::getline(edges, line)) {
    techdep::SupplyFlow flow;
    if (std::sscanf(line.c_str(), "%d,%d,%lf", &flow.origin, &flow.buyer, &flow.share) != 3) {
      throw std::runtime_error("bad edge line: " + line);
    }
    nodes = std::max({nodes, flow.origin + 1, flow.buyer + 1});
    network.flows.push_back(flow);
  }
  for (int v = 0; v < nodes; ++v) network.countries.push_back(fmt::format("n{}", v));
  std::vector<int> sources;
  std::ifstream source_in(argv[3]);
  std::getline(source_in, line);
  while (std::getline(source_in, line)) sources.push_back(std::stoi(line));
  const int sink = std::stoi(argv[4]);

  double best_betweenness = std::numeric_limits<double>::infinity();
  double best_flow = std::numeric_limits<double>::infinity();
  std::vector<double> centrality;
  techdep::MinCut cut;
  for (int r = 0; r < repeat; ++r) {
    auto start = Clock::now();
    centrality = techdep::betweenness(network);
    best_betweenness = std::min(best_betweenness, seconds_since(start));
    start = Clock::now();
    // W6 is a plain directed graph, not a brand network: every edge counts, whatever its origin.
    cut = techdep::max_flow_cut(network.countries.size(), techdep::supply_edges(network), sources,
                                sink);
    best_flow = std::min(best_flow, seconds_since(start));
  }
  std::ofstream out(argv[5]);
  out << fmt::format("{{\"max_flow\": {:.17g}, \"betweenness\": [{:.17g}]}}\n", cut.capacity,
                     fmt::join(centrality, ", "));
  fmt::print(
      "{{\"command\": \"graph\", \"nodes\": {}, \"edges\": {}, \"betweenness_seconds\": {:.6f}, "
      "\"max_flow_seconds\": {:.6f}, \"max_flow\": {:.17g}}}\n",
      nodes, network.flows.size(), best_betweenness, best_flow, cut.capacity);
  return 0;
}

// Triad a = b + q c over `doubles` per array, split across `threads`, repeated until about
// 0.2 s have passed; 24 bytes move per element (no write-allocate counted, as STREAM does).
double triad_gbps(std::size_t doubles, int threads) {
  std::vector<std::vector<double>> a(static_cast<std::size_t>(threads)), b(a.size()), c(a.size());
  const std::size_t per = doubles / static_cast<std::size_t>(threads);
  std::vector<std::thread> pool;
  double best = 0.0;
  for (int round = 0; round < 5; ++round) {
    const std::size_t reps = std::max<std::size_t>(1, (std::size_t{1} << 25) / doubles);
    pool.clear();
    const auto start = Clock::now();
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        auto& x = a[static_cast<std::size_t>(t)];
        auto& y = b[static_cast<std::size_t>(t)];
        auto& z = c[static_cast<std::size_t>(t)];
        if (x.size() != per) {  // first touch by the thread that uses it
          x.assign(per, 0.0);
          y.assign(per, 1.0);
          z.assign(per, 2.0);
        }
        for (std::size_t rep = 0; rep < reps; ++rep) {
          double* __restrict xa = x.data();
          const double* __restrict yb = y.data();
          const double* __restrict zc = z.data();
          for (std::size_t i = 0; i < per; ++i) xa[i] = yb[i] + 0.5 * zc[i];
          asm volatile("" : : "r"(xa) : "memory");
        }
      });
    }
    for (std::thread& worker : pool) worker.join();
    const double elapsed = seconds_since(start);
    if (round > 0) best = std::max(best, 24.0 * static_cast<double>(per * threads * reps) / elapsed / 1e9);
  }
  return best;
}

int stream(int argc, char** argv) {
  std::size_t small_kib = 256;
  std::size_t large_mib = 512;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--small-kib") small_kib = std::stoul(argv[i + 1]);
    else if (flag == "--large-mib") large_mib = std::stoul(argv[i + 1]);
    else usage("unknown option " + flag);
  }
  // The three arrays together take small_kib (in cache) or large_mib (from memory).
  const std::size_t small = small_kib * 1024 / 24;
  const std::size_t large = large_mib * 1024 * 1024 / 24;
  fmt::print(
      "{{\"command\": \"stream\", \"cache_kib\": {}, \"memory_mib\": {}, \"cache_1t_gbps\": {:.2f}, "
      "\"cache_2t_gbps\": {:.2f}, \"memory_1t_gbps\": {:.2f}, \"memory_2t_gbps\": {:.2f}}}\n",
      small_kib, large_mib, triad_gbps(small, 1), triad_gbps(small, 2), triad_gbps(large, 1),
      triad_gbps(large, 2));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("a command: dump-td, time-td, graph or stream");
  const std::string command = argv[1];
  try {
    if (command == "dump-td") return dump_td(argc, argv);
    if (command == "time-td") return time_td(argc, argv);
    if (command == "graph") return graph(argc, argv);
    if (command == "stream") return stream(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "techdep_bench: " << error.what() << "\n";
    return 1;
  }
  usage("unknown command " + command);
}
