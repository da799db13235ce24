// The `_techdep` extension: the app-level library calls (load, run, compare, explain, sweep,
// sensitivity, network) for the Python package in engine/python/techdep, which turns their plain
// results into DataFrames and figures (docs/python.md). The only file that includes pybind11.
//
// Every long call runs on a worker thread while the calling thread, without the GIL, waits in
// short slices; between slices it takes the GIL to look for a pending signal (Ctrl-C) and to
// report progress. A signal sets the engine's own interrupt flag (the one the CLI's SIGINT
// handler sets), the worker stops after its current step or run, and the call raises
// KeyboardInterrupt with nothing written.

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "techdep/app/compare.hpp"
#include "techdep/app/run.hpp"
#include "techdep/app/sensitivity.hpp"
#include "techdep/app/sweep.hpp"
#include "techdep/core/build_info.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/metric.hpp"
#include "techdep/model/network.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace py = pybind11;

namespace techdep::python {

namespace {

std::vector<Override> to_overrides(const std::vector<std::string>& texts) {
  std::vector<Override> overrides;
  overrides.reserve(texts.size());
  for (const std::string& text : texts) overrides.push_back({text});
  return overrides;
}

// Shared between the worker and the waiting caller.
struct CallState {
  std::atomic<bool> interrupt{false};
  std::atomic<long long> done{0};
  std::atomic<long long> total{0};
};

// Runs `work(state)` on a worker thread; see the file comment. `progress(done, total)` is called
// with the GIL held whenever the worker's counters moved.
template <typename Work>
auto call_interruptibly(Work&& work, const std::optional<py::function>& progress) {
  auto state = std::make_shared<CallState>();
  auto future = std::async(std::launch::async, [state, work = std::forward<Work>(work)]() mutable {
    return work(*state);
  });
  bool interrupted = false;
  long long reported_done = -1;
  long long reported_total = -1;
  for (;;) {
    bool ready = false;
    {
      py::gil_scoped_release release;
      ready = future.wait_for(std::chrono::milliseconds(50)) == std::future_status::ready;
    }
    if (!interrupted && PyErr_CheckSignals() != 0) {
      // The KeyboardInterrupt stays pending on this thread until the worker has stopped.
      interrupted = true;
      state->interrupt.store(true);
    }
    if (!interrupted && progress) {
      const long long done = state->done.load();
      const long long total = state->total.load();
      if (done != reported_done || total != reported_total) {
        reported_done = done;
        reported_total = total;
        try {
          (*progress)(done, total);
        } catch (py::error_already_set& error) {
          // A progress bar that raises stops the call like Ctrl-C does, with its own error.
          error.restore();
          interrupted = true;
          state->interrupt.store(true);
        }
      }
    }
    if (ready) break;
  }
  if (interrupted) {
    try {
      future.get();
    } catch (...) {
      // The interrupt is the error the caller sees; the worker's own failure came after it.
    }
    throw py::error_already_set();
  }
  return future.get();
}

struct Scenario {
  std::string path;
  std::vector<std::string> overrides;
  LoadedScenario loaded;
};

std::shared_ptr<Scenario> load(const std::string& path, const std::vector<std::string>& overrides) {
  auto scenario = std::make_shared<Scenario>();
  // A run folder stands for the scenario it replays; later calls read that file by its path.
  const std::filesystem::path replay = std::filesystem::path(path) / "scenario.resolved.yaml";
  scenario->path = std::filesystem::is_directory(path) && std::filesystem::is_regular_file(replay)
                       ? replay.string()
                       : path;
  scenario->overrides = overrides;
  LoadOptions options;
  options.overrides = to_overrides(overrides);
  {
    py::gil_scoped_release release;
    scenario->loaded = load_scenario(scenario->path, options);
  }
  return scenario;
}

const ScenarioSpec& spec_of(const Scenario& scenario) { return scenario.loaded.spec; }

template <typename Item>
std::vector<std::string> ids(const std::vector<Item>& items) {
  std::vector<std::string> result;
  result.reserve(items.size());
  for (const Item& item : items) result.push_back(item.id);
  return result;
}

template <typename Item>
int find_index(const std::vector<Item>& items, const std::string& id) {
  for (std::size_t index = 0; index < items.size(); ++index) {
    if (items[index].id == id) return static_cast<int>(index);
  }
  return -1;
}

std::vector<std::string> step_labels(const ScenarioSpec& spec) {
  std::vector<std::string> labels;
  for (int step = 0; step <= spec.time.steps; ++step) labels.push_back(step_label(spec.time, step));
  return labels;
}

std::string step_unit(const ScenarioSpec& spec) {
  switch (spec.time.step) {
    case StepUnit::Month:
      return "month";
    case StepUnit::Quarter:
      return "quarter";
    case StepUnit::Year:
      return "year";
  }
  return "month";
}

std::shared_ptr<MemoryRun> run(const Scenario& scenario, std::optional<std::uint64_t> seed,
                               int threads, bool check_invariants,
                               const std::optional<py::function>& progress) {
  RunRequest request;
  request.scenario_path = scenario.path;
  request.overrides = to_overrides(scenario.overrides);
  request.seed = seed;
  request.threads = threads;
  request.check_invariants = check_invariants;
  auto result = call_interruptibly(
      [request](CallState& state) mutable {
        request.interrupt = &state.interrupt;
        return std::make_shared<MemoryRun>(run_in_memory(request, [&state](int step, int steps) {
          state.total.store(steps);
          state.done.store(step);
        }));
      },
      progress);
  if (result->record.status == RunStatus::Interrupted) {
    // Stopped by a flag this call did not raise (another thread's interrupt): same outcome.
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  return result;
}

py::dict outcome_of_sweep(const SweepOutcome& outcome) {
  py::dict result;
  result["out_dir"] = outcome.out_dir;
  result["status"] = outcome.status == RunStatus::Completed   ? "completed"
                     : outcome.status == RunStatus::Partial ? "partial"
                                                              : "interrupted";
  result["runs_total"] = outcome.runs_total;
  result["runs_failed"] = outcome.runs_failed;
  result["summary"] = outcome.summary;
  return result;
}

py::dict sweep(const Scenario& scenario, bool use_sweep, std::optional<std::uint64_t> seed,
               std::optional<int> replicates, const std::filesystem::path& out_dir,
               bool write_timeseries, bool resume, int threads,
               const std::optional<py::function>& progress) {
  SweepRequest request;
  request.scenario_path = scenario.path;
  request.overrides = to_overrides(scenario.overrides);
  request.seed = seed;
  request.replicates = replicates;
  request.out_dir = out_dir;
  request.use_sweep = use_sweep;
  request.write_timeseries = write_timeseries;
  request.resume = resume;
  request.threads = threads;
  request.command = use_sweep ? "sweep" : "run";
  request.argv = {"python", "techdep." + std::string(use_sweep ? "sweep" : "replicates")};
  const SweepOutcome outcome = call_interruptibly(
      [request](CallState& state) mutable {
        request.interrupt = &state.interrupt;
        request.on_progress = [&state](const SweepProgress& progress_now) {
          state.total.store(static_cast<long long>(progress_now.total));
          state.done.store(static_cast<long long>(progress_now.done));
        };
        return run_sweep(request);
      },
      progress);
  if (outcome.status == RunStatus::Interrupted) {
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }
  return outcome_of_sweep(outcome);
}

py::list compare(const std::vector<std::pair<std::string, std::shared_ptr<Scenario>>>& scenarios,
                 double threshold, int threads) {
  if (scenarios.size() < 2) throw UsageError("compare: name at least one variant");
  std::vector<NamedScenario> named;
  for (const auto& [label, scenario] : scenarios) named.push_back({label, scenario->loaded.spec});
  const TimeSpec time = named.front().spec.time;
  const CompareOutcome outcome = call_interruptibly(
      [named = std::move(named), threshold, threads](CallState&) mutable {
        return compare_specs(std::move(named), threshold, threads);
      },
      std::nullopt);
  py::list rows;
  for (const SeriesComparison& row : outcome.rows) {
    rows.append(py::make_tuple(
        row.variant, row.series, row.base_end, row.variant_end, row.peak_difference,
        step_label(time, row.peak_step),
        row.first_divergence_step < 0 ? py::object(py::none())
                                      : py::object(py::str(step_label(time, row.first_divergence_step)))));
  }
  return rows;
}

// The engine's evaluations (explain, sensitivity) report to, and stop on, a call's state.
EvaluationControl controlled_by(CallState& state) {
  EvaluationControl control;
  control.interrupt = &state.interrupt;
  control.on_progress = [&state](std::size_t done, std::size_t total) {
    state.total.store(static_cast<long long>(total));
    state.done.store(static_cast<long long>(done));
  };
  return control;
}

// explain and sensitivity look at the same thing: one series of a scenario at one step.
template <typename Request>
Request target_request(const Scenario& scenario, const std::string& metric,
                       const std::string& country, const std::string& sector,
                       const std::string& partner, const std::string& segment,
                       const std::string& at, int threads) {
  Request request;
  request.scenario = scenario.path;
  request.overrides = to_overrides(scenario.overrides);
  request.metric = metric;
  request.country = country;
  request.sector = sector;
  request.partner = partner;
  request.segment = segment;
  request.at = at;
  request.threads = threads;
  return request;
}

py::dict explain(const Scenario& scenario, const std::string& metric, const std::string& country,
                 const std::string& sector, const std::string& partner,
                 const std::string& segment, const std::string& at, int exact_limit, int samples,
                 const std::string& by, int threads, const std::optional<py::function>& progress) {
  auto request = target_request<ExplainRequest>(scenario, metric, country, sector, partner,
                                                segment, at, threads);
  request.by = by == "mechanisms" ? ExplainPlayers::Mechanisms : ExplainPlayers::Events;
  request.exact_limit = exact_limit;
  request.samples = samples;
  const ExplainOutcome outcome = call_interruptibly(
      [request](CallState& state) mutable {
        request.control = controlled_by(state);
        return explain_scenario(request);
      },
      progress);
  py::list rows;
  for (const EventContribution& contribution : outcome.contributions) {
    rows.append(py::make_tuple(contribution.event_id, contribution.shapley,
                               contribution.leave_one_out));
  }
  py::dict result;
  result["with_events"] = outcome.with_events;
  result["without_events"] = outcome.without_events;
  result["method"] = outcome.method;
  result["contributions"] = rows;
  result["table"] = outcome.table;
  return result;
}

py::dict sensitivity(const Scenario& scenario, const std::string& metric,
                     const std::string& country, const std::string& sector,
                     const std::string& partner, const std::string& segment,
                     const std::string& at, const std::vector<std::string>& params,
                     int trajectories, int levels, int threads,
                     const std::optional<py::function>& progress) {
  auto request = target_request<SensitivityRequest>(scenario, metric, country, sector, partner,
                                                    segment, at, threads);
  request.params = params;
  request.trajectories = trajectories;
  request.levels = levels;
  const SensitivityOutcome outcome = call_interruptibly(
      [request](CallState& state) mutable {
        request.control = controlled_by(state);
        return sensitivity_analysis(request);
      },
      progress);
  py::list rows;
  for (const ParameterSensitivity& parameter : outcome.parameters) {
    rows.append(py::make_tuple(parameter.path, parameter.low, parameter.high,
                               parameter.stats.mu_star, parameter.stats.mu, parameter.stats.sigma,
                               parameter.stats.effects));
  }
  py::dict result;
  result["parameters"] = rows;
  result["nominal_value"] = outcome.nominal_value;
  result["runs"] = outcome.runs;
  result["table"] = outcome.table;
  return result;
}

py::dict network(const Scenario& scenario, const std::string& at, const std::string& sector,
                 const std::vector<std::string>& suppliers, const std::string& target,
                 int threads) {
  const ScenarioSpec& spec = scenario.loaded.spec;
  NetworkRequest request;
  const std::optional<int> step = parse_step(spec.time, at);
  if (!step || *step < 0 || *step > spec.time.steps) {
    throw UsageError(fmt::format("network: at='{}' is not a date or step within {}..{}", at,
                                 step_label(spec.time, 0), step_label(spec.time, spec.time.steps)));
  }
  request.step = *step;
  request.sector = find_index(spec.sectors, sector);
  if (request.sector < 0) throw UsageError(fmt::format("network: unknown sector '{}'", sector));
  if (suppliers.empty() != target.empty()) {
    throw UsageError("network: suppliers and target go together (the cut separates them)");
  }
  for (const std::string& name : suppliers) {
    if (const int bloc = find_index(spec.blocs, name); bloc >= 0) {
      const auto& members = spec.blocs[static_cast<std::size_t>(bloc)].members;
      request.suppliers.insert(request.suppliers.end(), members.begin(), members.end());
    } else if (const int country = find_index(spec.countries, name); country >= 0) {
      request.suppliers.push_back(country);
    } else {
      throw UsageError(
          fmt::format("network: suppliers names '{}', neither a country nor a bloc", name));
    }
  }
  if (!target.empty()) {
    request.target = find_index(spec.countries, target);
    if (request.target < 0) throw UsageError(fmt::format("network: unknown target '{}'", target));
  }
  SimulationOptions options;
  options.threads = threads;
  const NetworkReport report = call_interruptibly(
      [&spec, request, options](CallState&) { return network_report(spec, request, options); },
      std::nullopt);
  const auto name = [&](int country) { return spec.countries[static_cast<std::size_t>(country)].id; };
  const auto edge_rows = [&](const std::vector<SupplyEdge>& edges) {
    py::list rows;
    for (const SupplyEdge& edge : edges) {
      rows.append(py::make_tuple(name(edge.from), name(edge.to), edge.weight, edge.rerouted));
    }
    return rows;
  };
  py::dict result;
  result["step"] = report.network.step;
  result["date"] = report.network.date;
  result["sector"] = report.network.sector;
  result["countries"] = report.network.countries;
  result["edges"] = edge_rows(report.edges);
  result["betweenness"] = report.betweenness;
  if (report.cut) {
    py::dict cut;
    cut["capacity"] = report.cut->capacity;
    cut["edges"] = edge_rows(report.cut->edges);
    result["cut"] = cut;
  } else {
    result["cut"] = py::none();
  }
  return result;
}

py::list diagnostics_of(const ScenarioError& error) {
  py::list result;
  for (const Diagnostic& diagnostic : error.diagnostics()) {
    py::dict entry;
    entry["file"] = diagnostic.where.file;
    entry["line"] = diagnostic.where.line;
    entry["column"] = diagnostic.where.column;
    entry["key_path"] = diagnostic.key_path;
    entry["kind"] = diagnostic.kind;
    entry["message"] = diagnostic.message;
    entry["source_line"] = diagnostic.source_line;
    entry["text"] = format_diagnostic(diagnostic);
    result.append(entry);
  }
  return result;
}

// The Python exception classes live in techdep/__init__.py (documented there); the translator
// looks them up when an error crosses, by which time the package is imported.
void raise_python(const char* class_name, const std::string& message, py::object extra) {
  const py::object cls = py::module_::import("techdep").attr(class_name);
  const py::object instance = extra.is_none() ? cls(message) : cls(message, extra);
  PyErr_SetObject(cls.ptr(), instance.ptr());
}

}  // namespace

}  // namespace techdep::python

PYBIND11_MODULE(_techdep, module) {
  namespace tp = techdep::python;
  using techdep::MemoryRun;
  module.doc() = "techdep engine bindings; use the `techdep` package, not this module";

  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const techdep::ScenarioError& error) {
      tp::raise_python("ScenarioError", error.what(), tp::diagnostics_of(error));
    } catch (const techdep::IoError& error) {
      tp::raise_python("IoError", error.what(), py::none());
    } catch (const techdep::UsageError& error) {
      tp::raise_python("UsageError", error.what(), py::none());
    } catch (const techdep::NumericalError& error) {
      tp::raise_python("NumericalError", error.what(), py::none());
    }
  });

  py::class_<tp::Scenario, std::shared_ptr<tp::Scenario>>(module, "Scenario")
      .def_property_readonly("path", [](const tp::Scenario& s) { return s.path; })
      .def_property_readonly("overrides", [](const tp::Scenario& s) { return s.overrides; })
      .def_property_readonly("name", [](const tp::Scenario& s) { return tp::spec_of(s).name; })
      .def_property_readonly("description",
                             [](const tp::Scenario& s) { return tp::spec_of(s).description; })
      .def_property_readonly("seed", [](const tp::Scenario& s) { return tp::spec_of(s).seed; })
      .def_property_readonly("mode",
                             [](const tp::Scenario& s) {
                               return tp::spec_of(s).mode == techdep::Mode::Agents ? "agents"
                                                                                   : "aggregate";
                             })
      .def_property_readonly("replicates",
                             [](const tp::Scenario& s) { return tp::spec_of(s).replicates; })
      .def_property_readonly("uncertain", [](const tp::Scenario& s) {
        return tp::spec_of(s).uncertain.size();
      })
      .def_property_readonly("countries",
                             [](const tp::Scenario& s) { return tp::ids(tp::spec_of(s).countries); })
      .def_property_readonly("sectors",
                             [](const tp::Scenario& s) { return tp::ids(tp::spec_of(s).sectors); })
      .def_property_readonly("blocs",
                             [](const tp::Scenario& s) { return tp::ids(tp::spec_of(s).blocs); })
      .def_property_readonly("dates",
                             [](const tp::Scenario& s) { return tp::step_labels(tp::spec_of(s)); })
      .def_property_readonly("step_unit",
                             [](const tp::Scenario& s) { return tp::step_unit(tp::spec_of(s)); })
      .def_property_readonly("warnings", [](const tp::Scenario& s) { return s.loaded.warnings; })
      .def_property_readonly("input_files",
                             [](const tp::Scenario& s) { return s.loaded.input_files; })
      .def("resolved_yaml", [](const tp::Scenario& s, const std::string& relative_to) {
        return s.loaded.resolved_yaml(relative_to);
      });

  py::class_<MemoryRun, std::shared_ptr<MemoryRun>>(module, "MemoryRun")
      // Bytes, not str: pandas parses them as they are, without a decoded copy.
      .def_property_readonly("timeseries_csv",
                             [](const MemoryRun& r) { return py::bytes(r.timeseries_csv); })
      .def_property_readonly("observations_csv",
                             [](const MemoryRun& r) { return py::bytes(r.record.observations_csv); })
      .def_property_readonly("events_csv",
                             [](const MemoryRun& r) { return py::bytes(r.record.events_csv); })
      .def_property_readonly("summary", [](const MemoryRun& r) { return r.record.summary; })
      .def_property_readonly("steps_done", [](const MemoryRun& r) { return r.record.steps_done; })
      .def_property_readonly("run_seed", [](const MemoryRun& r) { return r.record.run_seed; })
      .def_property_readonly("base_seed", [](const MemoryRun& r) { return r.loaded.spec.seed; })
      .def_property_readonly("threads", [](const MemoryRun& r) { return r.threads; })
      .def_property_readonly("started_utc", [](const MemoryRun& r) { return r.started_utc; })
      .def_property_readonly("load_seconds", [](const MemoryRun& r) { return r.load_seconds; })
      .def_property_readonly("simulate_seconds",
                             [](const MemoryRun& r) { return r.record.simulate_seconds; })
      .def_property_readonly("input_files", [](const MemoryRun& r) { return r.loaded.input_files; })
      .def_property_readonly("warnings", [](const MemoryRun& r) { return r.loaded.warnings; })
      .def("write_folder", [](const MemoryRun& r, const std::filesystem::path& out_dir,
                              const std::vector<std::string>& argv) {
        py::gil_scoped_release release;
        techdep::write_run_folder(r, out_dir, argv);
      });

  module.def("load", &tp::load, py::arg("path"), py::arg("overrides"));
  module.def("run", &tp::run, py::arg("scenario"), py::arg("seed"), py::arg("threads"),
             py::arg("check_invariants"), py::arg("progress"));
  module.def("sweep", &tp::sweep, py::arg("scenario"), py::arg("use_sweep"), py::arg("seed"),
             py::arg("replicates"), py::arg("out_dir"), py::arg("write_timeseries"),
             py::arg("resume"), py::arg("threads"), py::arg("progress"));
  module.def("compare", &tp::compare, py::arg("scenarios"), py::arg("threshold"),
             py::arg("threads"));
  module.def("explain", &tp::explain, py::arg("scenario"), py::arg("metric"), py::arg("country"),
             py::arg("sector"), py::arg("partner"), py::arg("segment"), py::arg("at"),
             py::arg("exact_limit"),
             py::arg("samples"), py::arg("by"), py::arg("threads"), py::arg("progress"));
  module.def("sensitivity", &tp::sensitivity, py::arg("scenario"), py::arg("metric"),
             py::arg("country"), py::arg("sector"), py::arg("partner"), py::arg("segment"),
             py::arg("at"), py::arg("params"), py::arg("trajectories"), py::arg("levels"), py::arg("threads"),
             py::arg("progress"));
  module.def("network", &tp::network, py::arg("scenario"), py::arg("at"), py::arg("sector"),
             py::arg("suppliers"), py::arg("target"), py::arg("threads"));
  module.def("metric_catalogue", [] {
    py::list rows;
    for (const techdep::MetricInfo& info : techdep::kMetricCatalogue) {
      rows.append(py::make_tuple(std::string(info.name), std::string(info.unit),
                                 std::string(info.description)));
    }
    return rows;
  });
  module.def("build_info", [] {
    const techdep::BuildInfo& build = techdep::build_info();
    py::dict info;
    info["tool"] = "techdep";
    info["version"] = std::string(build.version);
    info["git_commit"] = std::string(build.git_commit);
    info["git_dirty"] = build.dirty;
    info["build_type"] = std::string(build.build_type);
    info["compiler"] = std::string(build.compiler);
    return info;
  });
}
