"""techdep in Python: scenarios, runs and ensembles as pandas DataFrames (docs/python.md).

    import techdep
    story = techdep.load("scenarios/sanctions-2022.yaml")
    run = story.run()
    run.timeseries            # tidy DataFrame, the columns of timeseries.csv
    run.plot("supplier_share", country="RUS", sector="semiconductors", partner="CHN")

The engine is the one the `techdep` command runs: the same seed gives the same numbers, and
`Run.to_folder` writes the run folder `techdep run` writes. Long calls release the GIL, stop on
Ctrl-C (KeyboardInterrupt, nothing written) and show a tqdm bar when tqdm is installed.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Mapping, Optional, Sequence, Union

from . import _frames, _plots
from . import _techdep
from ._progress import Progress

__all__ = [
    "Error", "ScenarioError", "IoError", "UsageError", "NumericalError", "Diagnostic",
    "Scenario", "Run", "Ensemble", "load", "compare", "replicates", "sweep", "explain",
    "sensitivity", "network", "metrics",
]

__version__ = _techdep.build_info()["version"]

PathLike = Union[str, os.PathLike]


from ._errors import Diagnostic, Error, IoError, NumericalError, ScenarioError, UsageError


# --- Argument checks: wrong types fail here, in Python terms, before the engine sees them.

def _type_name(value) -> str:
    return type(value).__name__


def _check_path(name: str, value) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, not {_type_name(value)}")
    return os.fspath(value)


def _check_int(name: str, value, minimum: int, *, optional: bool = False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {_type_name(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value}")
    return value


def _check_str(name: str, value, *, optional: bool = False) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {_type_name(value)}")
    return value


def _check_choice(name: str, value, choices) -> str:
    value = _check_str(name, value)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _check_threads(threads) -> int:
    if threads is None:
        return os.cpu_count() or 1
    return _check_int("threads", threads, 1)


def _check_seed(seed):
    seed = _check_int("seed", seed, 0, optional=True)
    if seed is not None and seed >= 2 ** 64:
        raise ValueError(f"seed must be below 2**64, not {seed}")
    return seed


def _override_value(path: str, value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"set[{path!r}] must be a bool, int, float or str, not {_type_name(value)}")


def _overrides(assignments) -> list:
    """`{"events[x].intensity": 0.5}` to the CLI's `--set` texts."""
    if assignments is None:
        return []
    if not isinstance(assignments, Mapping):
        raise TypeError(f"set must be a dict of path -> value, not {_type_name(assignments)}")
    texts = []
    for path, value in assignments.items():
        if not isinstance(path, str):
            raise TypeError(f"set keys must be str paths, not {_type_name(path)}")
        texts.append(f"{path}={_override_value(path, value)}")
    return texts


def _units() -> dict:
    return {name: unit for name, unit, _ in _techdep.metric_catalogue()}


def metrics():
    """The metric catalogue: name, unit and meaning of every metric, as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(_techdep.metric_catalogue(), columns=["metric", "unit", "meaning"])


# --- Scenarios and runs

class Scenario:
    """A loaded, validated scenario (after `extends` and `set`). Cheap to keep; runs are not."""

    def __init__(self, native):
        self._native = native

    @property
    def path(self) -> str:
        return self._native.path

    @property
    def overrides(self) -> list:
        """The `--set` texts applied, in order."""
        return list(self._native.overrides)

    name = property(lambda self: self._native.name)
    description = property(lambda self: self._native.description)
    seed = property(lambda self: self._native.seed)
    mode = property(lambda self: self._native.mode)
    replicates = property(lambda self: self._native.replicates)
    countries = property(lambda self: list(self._native.countries))
    sectors = property(lambda self: list(self._native.sectors))
    blocs = property(lambda self: list(self._native.blocs))
    dates = property(lambda self: list(self._native.dates))
    step_unit = property(lambda self: self._native.step_unit)
    warnings = property(lambda self: list(self._native.warnings))

    @property
    def label(self) -> str:
        """The name, with the overrides when there are any: how compare() names a variant."""
        if not self.overrides:
            return self.name
        return f"{self.name} [{'; '.join(self.overrides)}]"

    def resolved_yaml(self) -> str:
        """The effective scenario as one self-contained YAML document (`techdep resolve`)."""
        return self._native.resolved_yaml(str(pathlib.Path(self.path).resolve().parent))

    def with_set(self, assignments: Mapping) -> "Scenario":
        """The same scenario with more overrides, applied after the ones it has."""
        return Scenario(_techdep.load(self.path, self.overrides + _overrides(assignments)))

    def _in_mode(self, mode) -> "Scenario":
        if mode is None or mode == self.mode:
            return self
        if mode not in ("aggregate", "agents"):
            raise ValueError(f"mode must be 'aggregate' or 'agents', not {mode!r}")
        return self.with_set({"mode": mode})

    def run(self, *, seed: Optional[int] = None, threads: Optional[int] = None,
            mode: Optional[str] = None, check: bool = False, progress=None) -> "Run":
        """One run in memory: `techdep run` without the folder (Run.to_folder writes it).

        seed replaces the scenario's seed; threads (default: every core) does not change the
        numbers; mode 'agents' or 'aggregate' overrides the scenario's; check verifies the
        model's invariants after every phase (slower)."""
        seed = _check_seed(seed)
        threads = _check_threads(threads)
        if not isinstance(check, bool):
            raise TypeError(f"check must be a bool, not {_type_name(check)}")
        scenario = self._in_mode(mode)
        with Progress(progress, scenario.name, "step") as bar:
            native = _techdep.run(scenario._native, seed, threads, check, bar)
        return Run(scenario, native, seed)

    def __repr__(self) -> str:
        return (f"<techdep.Scenario {self.label!r}: {len(self.countries)} countries, "
                f"{len(self.sectors)} sectors, {self.dates[0]}..{self.dates[-1]}>")


def load(path: PathLike, *, set: Optional[Mapping] = None) -> Scenario:  # noqa: A002 (the CLI's --set)
    """Loads and validates a scenario file (or a run folder's scenario.resolved.yaml).

    set: `{path: value}` overrides, as `--set path=value` on the command line. Raises
    ScenarioError with every problem found, IoError when a file cannot be read."""
    path = _check_path("path", path)
    return Scenario(_techdep.load(path, _overrides(set)))


class Run:
    """One finished run, held in memory."""

    def __init__(self, scenario: Scenario, native, seed):
        self.scenario = scenario
        self._native = native
        self._seed = seed
        self._cache = {}

    def _frame(self, key, reader, text):
        if key not in self._cache:
            self._cache[key] = reader(text, self.scenario.step_unit)
        return self._cache[key].copy()

    @property
    def timeseries(self):
        """timeseries.csv as a tidy DataFrame (a copy: change it freely)."""
        return self._frame("timeseries", _frames.timeseries, self._native.timeseries_csv)

    @property
    def observations(self):
        """observations.csv: every declared observation beside the model's value."""
        return self._frame("observations", _frames.observations, self._native.observations_csv)

    @property
    def events(self):
        """events.csv: every government rule that fired."""
        return self._frame("events", _frames.events, self._native.events_csv)

    @property
    def summary(self) -> str:
        """The one-screen summary `techdep run` prints."""
        return self._native.summary

    @property
    def manifest(self) -> dict:
        """Provenance known before anything is written: build, scenario, inputs, seeds, timings.
        to_folder writes the complete manifest.json (with the outputs' SHA-256)."""
        native = self._native
        return {
            **_techdep.build_info(),
            "threads": native.threads,
            "started_utc": native.started_utc,
            "overrides": self.scenario.overrides,
            "scenario": {"name": self.scenario.name, "file": self.scenario.path},
            "inputs": list(native.input_files),
            "mode": self.scenario.mode,
            "base_seed": native.base_seed,
            "runs": [{"point": 0, "replicate": 0, "seed": native.run_seed,
                      "status": "completed", "steps_done": native.steps_done}],
            "timings_s": {"load": native.load_seconds, "simulate": native.simulate_seconds},
            "warnings": list(native.warnings),
            "status": "completed",
        }

    def _argv(self) -> list:
        argv = ["techdep", "run", self.scenario.path]
        for text in self.scenario.overrides:
            argv += ["--set", text]
        if self._seed is not None:
            argv += ["--seed", str(self._seed)]
        return argv

    def to_folder(self, path: PathLike) -> pathlib.Path:
        """Writes the run folder `techdep run --out PATH` writes for this scenario and seed
        (atomically; an existing folder is an IoError). Returns the folder."""
        path = pathlib.Path(_check_path("path", path))
        self._native.write_folder(path, ["python:techdep"] + self._argv()[1:])
        return path

    def plot(self, metric: str, *, country: Optional[str] = None, sector: Optional[str] = None,
             partner: Optional[str] = None, segment: Optional[str] = None,
             by: Optional[str] = None, ax=None):
        """One metric over time, one line per value of `by` (country, sector, partner or
        segment: the dimension left open when the others are chosen, or given as a list of ids,
        which also orders the legend; a segmented cell's whole demand unless `segment` or
        by="segment" asks for its segments). Returns the matplotlib Figure."""
        chosen = {"country": country, "sector": sector, "partner": partner, "segment": segment}
        return _plots.plot_lines(self.timeseries, metric, _units().get(metric, ""), chosen, by,
                                 ax, self.scenario.step_unit)

    def __repr__(self) -> str:
        return (f"<techdep.Run {self.scenario.label!r}: {self._native.steps_done} steps, "
                f"seed {self._native.base_seed}>")


class Ensemble:
    """Many runs (replicates, sweep points) summarised per point, series and step."""

    def __init__(self, scenario: Scenario, folder: pathlib.Path, outcome: dict, keep_folder: bool):
        self.scenario = scenario
        self.status = outcome["status"]
        self.runs_total = outcome["runs_total"]
        self.runs_failed = outcome["runs_failed"]
        self.text = outcome["summary"]
        self.folder = folder if keep_folder else None
        unit = scenario.step_unit
        self.summary = _frames.summary((folder / "summary.csv").read_bytes(), unit)
        self.runs = _frames.read_csv((folder / "runs.csv").read_bytes(), unit,
                                     ints=("point", "replicate"))
        self.points = _frames.read_csv((folder / "points.csv").read_bytes(), unit, ints=("point",))
        timeseries_file = folder / "timeseries.csv"
        self.timeseries = (_frames.timeseries(timeseries_file.read_bytes(), unit)
                           if timeseries_file.exists() else None)
        self.manifest = json.loads((folder / "manifest.json").read_text())

    def plot(self, metric: str, *, country: Optional[str] = None, sector: Optional[str] = None,
             partner: Optional[str] = None, segment: Optional[str] = None,
             by: Optional[str] = None, point: int = 0, ax=None):
        """The median of one metric over the replicates with its 25-75 % and 5-95 % bands, one
        colour per value of `by` (as Run.plot). Returns the matplotlib Figure."""
        point = _check_int("point", point, 0)
        rows = self.summary[self.summary["point"] == point]
        if rows.empty:
            raise UsageError(f"plot: no point {point} (the ensemble has points "
                             f"0..{int(self.summary['point'].max())})")
        chosen = {"country": country, "sector": sector, "partner": partner, "segment": segment}
        return _plots.plot_bands(rows, metric, _units().get(metric, ""), chosen, by, ax,
                                 self.scenario.step_unit)

    def __repr__(self) -> str:
        return (f"<techdep.Ensemble {self.scenario.label!r}: {self.runs_total} runs, "
                f"{self.status}>")


def _scenario(value, name: str = "scenario") -> Scenario:
    if isinstance(value, Scenario):
        return value
    if isinstance(value, (str, os.PathLike)):
        return load(value)
    raise TypeError(f"{name} must be a techdep.Scenario or a path, not {_type_name(value)}")


def _ensemble(scenario, use_sweep, replicates, seed, threads, out, timeseries, resume, progress):
    scenario = _scenario(scenario)
    replicates = _check_int("replicates", replicates, 1, optional=True)
    seed = _check_seed(seed)
    threads = _check_threads(threads)
    for flag_name, flag in (("timeseries", timeseries), ("resume", resume)):
        if not isinstance(flag, bool):
            raise TypeError(f"{flag_name} must be a bool, not {_type_name(flag)}")
    description = f"{scenario.name} {'sweep' if use_sweep else 'replicates'}"
    if out is not None:
        folder = pathlib.Path(_check_path("out", out))
        with Progress(progress, description, "run") as bar:
            outcome = _techdep.sweep(scenario._native, use_sweep, seed, replicates, folder,
                                     timeseries, resume, threads, bar)
        return Ensemble(scenario, folder, outcome, keep_folder=True)
    if resume:
        raise UsageError("resume needs out= (the folder of the interrupted ensemble)")
    # The engine writes a sweep folder (its memory stays bounded for any number of runs); this
    # one is private and removed, on success as on KeyboardInterrupt.
    with tempfile.TemporaryDirectory(prefix="techdep-") as temporary:
        folder = pathlib.Path(temporary) / "ensemble"
        with Progress(progress, description, "run") as bar:
            outcome = _techdep.sweep(scenario._native, use_sweep, seed, replicates, folder,
                                     timeseries, False, threads, bar)
        return Ensemble(scenario, folder, outcome, keep_folder=False)


def replicates(scenario, n: Optional[int] = None, *, seed: Optional[int] = None,
               threads: Optional[int] = None, out: Optional[PathLike] = None,
               timeseries: bool = False, resume: bool = False, progress=None) -> Ensemble:
    """`techdep run --replicates n`: n runs of the scenario's own point (default: its
    `replicates`), seeds run_seed(seed, replicate), uncertain parameters drawn per run.
    out: also keep the sweep folder there (resumable with resume=True after an interrupt)."""
    return _ensemble(scenario, False, n, seed, threads, out, timeseries, resume, progress)


def sweep(scenario, *, replicates: Optional[int] = None, seed: Optional[int] = None,
          threads: Optional[int] = None, out: Optional[PathLike] = None,
          timeseries: bool = False, resume: bool = False, progress=None) -> Ensemble:
    """`techdep sweep`: every point of the scenario's `sweep:` times every replicate."""
    return _ensemble(scenario, True, replicates, seed, threads, out, timeseries, resume, progress)


def compare(base, *variants, threshold: float = 0.01, threads: Optional[int] = None):
    """`techdep compare`: runs base and variants with the base's seed (common random numbers)
    and compares every series they share. A DataFrame, one row per variant and series; a variant
    is named by Scenario.label."""
    import pandas as pd

    if not variants:
        raise UsageError("compare: name at least one variant")
    scenarios = [_scenario(base, "base")] + [_scenario(v, "variant") for v in variants]
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"threshold must be a float, not {_type_name(threshold)}")
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, not {threshold}")
    threads = _check_threads(threads)
    rows = _techdep.compare([(s.label, s._native) for s in scenarios], float(threshold), threads)
    frame = pd.DataFrame(rows, columns=["variant", "series", "base_end", "variant_end",
                                        "peak_difference", "peak_date", "first_divergence_date"])
    frame.insert(4, "end_difference", frame["variant_end"] - frame["base_end"])
    unit = scenarios[0].step_unit
    for column in ("peak_date", "first_divergence_date"):
        frame[column] = _frames.to_periods(frame[column].fillna(""), unit)
    for column in ("variant", "series"):
        frame[column] = frame[column].astype("category")
    return frame


def explain(scenario, metric: str, *, country: str, sector: Optional[str] = None,
            partner: Optional[str] = None, segment: Optional[str] = None,
            at: Optional[str] = None, exact_limit: int = 10,
            samples: int = 200, by: str = "events", threads: Optional[int] = None,
            progress=None):
    """`techdep explain`: each event's share (Shapley value) of the change in one metric between
    the scenario and the same world without events; with by="mechanisms", each lock-in,
    learning or entry mechanism's share of the change between the scenario and the same world
    with them switched off. A DataFrame ranked by |shapley| (first column `event` or
    `mechanism`), with `.attrs` with_events, without_events and method. segment: one demand
    segment of the cell (per-segment metrics); none, the whole demand."""
    import pandas as pd

    scenario = _scenario(scenario)
    arguments = (
        scenario._native, _check_str("metric", metric), _check_str("country", country),
        _check_str("sector", sector, optional=True), _check_str("partner", partner, optional=True),
        _check_str("segment", segment, optional=True),
        _check_str("at", at, optional=True), _check_int("exact_limit", exact_limit, 1),
        _check_int("samples", samples, 1), _check_choice("by", by, ("events", "mechanisms")),
        _check_threads(threads))
    with Progress(progress, f"explain {metric}", "run") as bar:
        result = _techdep.explain(*arguments, bar)
    player = "event" if by == "events" else "mechanism"
    frame = pd.DataFrame(result["contributions"], columns=[player, "shapley", "leave_one_out"])
    frame.attrs.update(with_events=result["with_events"], without_events=result["without_events"],
                       method=result["method"], table=result["table"])
    return frame


def sensitivity(scenario, metric: str, *, country: str, sector: Optional[str] = None,
                partner: Optional[str] = None, segment: Optional[str] = None,
                at: Optional[str] = None,
                params: Optional[Union[Mapping, Sequence[str]]] = None, trajectories: int = 10,
                levels: int = 4, threads: Optional[int] = None, progress=None):
    """`techdep sensitivity`: Morris screening of parameters for one output. params:
    `{path: (low, high)}` or `["path=low:high"]`; none: the scenario's `uncertain:` ones.
    A DataFrame ranked by mu_star, `.attrs` nominal_value and runs."""
    import pandas as pd

    scenario = _scenario(scenario)
    texts = []
    if isinstance(params, Mapping):
        for path, bounds in params.items():
            if (not isinstance(path, str) or not isinstance(bounds, (tuple, list))
                    or len(bounds) != 2):
                raise TypeError("params must map a str path to a (low, high) pair")
            texts.append(f"{path}={bounds[0]!r}:{bounds[1]!r}")
    elif params is not None:
        if isinstance(params, str) or not all(isinstance(p, str) for p in params):
            raise TypeError("params must be a dict or a list of 'PATH=LOW:HIGH' strings")
        texts = list(params)
    arguments = (
        scenario._native, _check_str("metric", metric), _check_str("country", country),
        _check_str("sector", sector, optional=True), _check_str("partner", partner, optional=True),
        _check_str("segment", segment, optional=True),
        _check_str("at", at, optional=True), texts, _check_int("trajectories", trajectories, 2),
        _check_int("levels", levels, 2), _check_threads(threads))
    with Progress(progress, f"sensitivity {metric}", "run") as bar:
        result = _techdep.sensitivity(*arguments, bar)
    frame = pd.DataFrame(result["parameters"],
                         columns=["parameter", "low", "high", "mu_star", "mu", "sigma", "effects"])
    frame.insert(0, "rank", range(1, len(frame) + 1))
    frame.attrs.update(nominal_value=result["nominal_value"], runs=result["runs"],
                       table=result["table"])
    return frame


def network(scenario, at: str, sector: str, *, suppliers: Optional[Sequence[str]] = None,
            target: Optional[str] = None, threads: Optional[int] = None, as_frame: bool = False):
    """`techdep network`: the supply network of one sector at one date. A networkx DiGraph
    (edge attributes share and rerouted, node attribute betweenness, graph attributes date,
    sector, step and cut) when networkx is installed and as_frame is False; otherwise the edge
    DataFrame with `.attrs` betweenness and cut."""
    import pandas as pd

    scenario = _scenario(scenario)
    if isinstance(at, int) and not isinstance(at, bool):
        at = str(at)
    if suppliers is not None and (isinstance(suppliers, str)
                                  or not all(isinstance(s, str) for s in suppliers)):
        raise TypeError("suppliers must be a list of country or bloc ids")
    result = _techdep.network(scenario._native, _check_str("at", at), _check_str("sector", sector),
                              list(suppliers or []), _check_str("target", target, optional=True),
                              _check_threads(threads))
    betweenness = dict(zip(result["countries"], result["betweenness"]))
    cut = result["cut"]
    if cut is not None:
        cut = {"capacity": cut["capacity"],
               "edges": [(source, sink) for source, sink, _, _ in cut["edges"]]}
    graph_attrs = {"date": result["date"], "sector": result["sector"], "step": result["step"],
                   "cut": cut}
    if not as_frame:
        try:
            import networkx as nx
        except ImportError:
            nx = None
        if nx is not None:
            graph = nx.DiGraph(**graph_attrs)
            for country in result["countries"]:
                graph.add_node(country, betweenness=betweenness[country])
            for source, sink, share, rerouted in result["edges"]:
                graph.add_edge(source, sink, share=share, rerouted=rerouted)
            return graph
    frame = pd.DataFrame(result["edges"], columns=["source", "target", "share", "rerouted"])
    frame.attrs.update(graph_attrs, betweenness=betweenness)
    return frame
