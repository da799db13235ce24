"""The Python package against the command line: same numbers, same bytes, typed frames, errors
as Python exceptions, Ctrl-C."""

import _thread
import json
import math
import os
import signal
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import techdep
from conftest import GRID, SOURCE_DIR, STORY, TINY, TINY_WEAKER


# --- Loading and errors

def test_load_resolves_the_scenario():
    story = techdep.load(STORY)
    assert story.name == "sanctions-2022"
    assert "RUS" in story.countries and "CHN" in story.countries
    assert "semiconductors" in story.sectors
    assert story.step_unit == "month"
    assert story.dates[0] < story.dates[-1]
    assert "name: sanctions-2022" in story.resolved_yaml()


def test_set_overrides_apply_like_the_cli():
    story = techdep.load(TINY, set={"seed": 99})
    assert story.seed == 99
    assert story.overrides == ["seed=99"]
    assert story.with_set({"mode": "agents"}).mode == "agents"


BAD_SCENARIO = """\
schema_version: 1
name: bad
time: {start: 2021-01, steps: 12}
countries:
  A: {talent: -10, source: assumption}
  B: {talent: 10, colour: red, source: assumption}
sectors:
  x: {elasticity: 3, world_supply: {A: 0.5, B: 0.5}, source: assumption}
"""


def test_scenario_error_carries_every_diagnostic_as_the_cli_prints_it(tmp_path, cli):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SCENARIO)
    with pytest.raises(techdep.ScenarioError) as caught:
        techdep.load(bad)
    diagnostics = caught.value.diagnostics
    assert len(diagnostics) >= 2
    assert all(d.file == str(bad) and d.line > 0 and d.column > 0 for d in diagnostics)
    assert {d.line for d in diagnostics} >= {5, 6}
    printed = cli("validate", bad, check=False)
    assert printed.returncode == 3
    for diagnostic in diagnostics:
        assert diagnostic.text in printed.stderr
    assert str(caught.value) == "\n".join(d.text for d in diagnostics)
    assert isinstance(caught.value, ValueError)


def test_a_missing_scenario_is_an_io_error(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(techdep.IoError) as caught:
        techdep.load(missing)
    assert str(missing) in str(caught.value)
    assert isinstance(caught.value, OSError)


def test_an_unknown_override_path_is_a_scenario_error():
    with pytest.raises(techdep.ScenarioError) as caught:
        techdep.load(TINY, set={"sectors.nothing.elasticity": 2})
    assert "nothing" in str(caught.value)


@pytest.mark.parametrize("call, error, words", [
    (lambda: techdep.load(42), TypeError, "path must be a str or os.PathLike, not int"),
    (lambda: techdep.load(TINY, set=["seed=3"]), TypeError, "set must be a dict"),
    (lambda: techdep.load(TINY, set={"seed": object()}), TypeError, "set['seed']"),
    (lambda: techdep.load(TINY, sett={"seed": 3}), TypeError, "unexpected keyword argument 'sett'"),
    (lambda: techdep.load(TINY).run(seed="3"), TypeError, "seed must be an int, not str"),
    (lambda: techdep.load(TINY).run(seed=-1), ValueError, "seed must be >= 0"),
    (lambda: techdep.load(TINY).run(threads=0), ValueError, "threads must be >= 1"),
    (lambda: techdep.load(TINY).run(threads=1.5), TypeError, "threads must be an int"),
    (lambda: techdep.load(TINY).run(mode="fast"), ValueError, "mode must be 'aggregate' or 'agents'"),
    (lambda: techdep.load(TINY).run(steps=3), TypeError, "unexpected keyword argument 'steps'"),
    (lambda: techdep.compare(TINY), techdep.UsageError, "at least one variant"),
    (lambda: techdep.compare(TINY, 7), TypeError, "variant must be a techdep.Scenario or a path"),
    (lambda: techdep.replicates(TINY, "3"), TypeError, "replicates must be an int"),
    (lambda: techdep.explain(TINY, "shortage", country=1), TypeError, "country must be a str"),
    (lambda: techdep.explain(TINY, "no_such_metric", country="EST"), techdep.UsageError,
     "no_such_metric"),
])
def test_wrong_arguments_raise_clear_python_errors(call, error, words):
    with pytest.raises(error) as caught:
        call()
    assert words in str(caught.value)


# --- Runs

def test_timeseries_is_typed_and_keeps_every_row():
    run = techdep.load(STORY).run(threads=2, progress=False)
    frame = run.timeseries
    assert list(frame.columns) == ["scenario", "point", "replicate", "step", "date", "country",
                                   "sector", "partner", "segment", "metric", "value"]
    assert isinstance(frame["date"].dtype, pd.PeriodDtype) and frame["date"].dtype.freq.freqstr == "M"
    for column in ("scenario", "country", "sector", "partner", "segment", "metric"):
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column
    assert frame["value"].dtype == np.float64 and frame["step"].dtype == np.int64
    assert len(frame) == run.timeseries.shape[0] == run._native.timeseries_csv.count(b"\n") - 1
    # Country metrics keep their rows: the empty sector is '', not NaN.
    talent = frame[(frame["metric"] == "talent") & (frame["country"] == "RUS")]
    assert (talent["sector"] == "").all() and len(talent) == len(techdep.load(STORY).dates)
    assert not frame["value"].isna().any()
    # A copy each time: changing it leaves the run alone.
    frame["value"] = 0.0
    assert run.timeseries["value"].abs().sum() > 0


def test_observations_and_events_are_typed():
    run = techdep.load(STORY).run(progress=False)
    observations = run.observations
    assert len(observations) > 0
    assert observations["within_tolerance"].dtype == "boolean"
    assert np.allclose(observations["residual"], observations["model"] - observations["observed"])
    assert list(run.events.columns) == ["step", "date", "rule", "condition_value", "event"]
    manifest = run.manifest
    assert manifest["scenario"]["name"] == "sanctions-2022"
    assert manifest["runs"][0]["steps_done"] == len(techdep.load(STORY).dates) - 1


@pytest.mark.parametrize("path, assignments, seed, threads", [
    (STORY, {}, None, 2),
    (TINY, {"mode": "agents"}, 11, 2),
])
def test_to_folder_writes_the_bytes_the_cli_writes(tmp_path, cli, path, assignments, seed, threads):
    scenario = techdep.load(path, set=assignments)
    run = scenario.run(seed=seed, threads=threads, progress=False)
    ours = run.to_folder(tmp_path / "python")
    arguments = ["run", path, "--out", tmp_path / "cli", "--threads", "1"]
    for text in scenario.overrides:
        arguments += ["--set", text]
    if seed is not None:
        arguments += ["--seed", seed]
    cli(*arguments)
    theirs = tmp_path / "cli"
    for name in ("timeseries.csv", "observations.csv", "events.csv", "summary.txt",
                 "scenario.resolved.yaml"):
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    ours_manifest = json.loads((ours / "manifest.json").read_text())
    theirs_manifest = json.loads((theirs / "manifest.json").read_text())
    assert ours_manifest["outputs"] == theirs_manifest["outputs"]
    assert ours_manifest["runs"] == theirs_manifest["runs"]
    assert ours_manifest["status"] == "completed"
    assert not list(tmp_path.glob(".*")), "no staging folder is left behind"


def test_a_scenario_of_many_runs_asks_for_an_ensemble():
    with pytest.raises(techdep.UsageError, match="techdep.replicates"):
        techdep.load(GRID).run(progress=False)


def test_a_run_folder_loads_as_the_scenario_it_replays(tmp_path):
    first = techdep.load(TINY, set={"seed": 3}).run(progress=False)
    folder = first.to_folder(tmp_path / "first")
    replay = techdep.load(folder)
    assert replay.path == str(folder / "scenario.resolved.yaml") and replay.seed == 3
    assert replay.run(progress=False).timeseries.equals(first.timeseries)


def test_to_folder_never_overwrites(tmp_path):
    run = techdep.load(TINY).run(progress=False)
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(techdep.IoError):
        run.to_folder(target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_the_documented_pandas_recipe_reads_what_the_run_holds(tmp_path):
    run = techdep.load(STORY).run(progress=False)
    folder = run.to_folder(tmp_path / "run")
    # docs/python.md and docs/output-format.md, "pandas".
    df = pd.read_csv(folder / "timeseries.csv", keep_default_na=False, na_values={"value": [""]},
                     dtype={"value": "float64"}, float_precision="round_trip")
    share = (df[(df.metric == "supplier_share") & (df.country == "RUS")
                & (df.sector == "semiconductors")]
             .pivot(index="date", columns="partner", values="value"))
    ours = run.timeseries
    mine = ours[(ours.metric == "supplier_share") & (ours.country == "RUS")
                & (ours.sector == "semiconductors") & (ours.partner == "CHN")]
    assert share["CHN"].tolist() == mine["value"].tolist()
    assert len(df) == len(ours)
    # The recipe the issue found wrong averaged over countries and sectors, and lost rows.
    wrong = pd.read_csv(folder / "timeseries.csv").pivot_table(
        index="date", columns=["metric", "partner"], values="value")
    assert wrong[("supplier_share", "CHN")].tolist() != share["CHN"].tolist()


# --- Ensembles and what-ifs

def test_replicates_give_the_cli_summary(tmp_path, cli):
    ensemble = techdep.replicates(GRID, 4, seed=5, threads=2, progress=False)
    cli("run", GRID, "--replicates", 4, "--seed", 5, "--summary-only", "--out", tmp_path / "cli",
        "--threads", 1)
    theirs = pd.read_csv(tmp_path / "cli/summary.csv", keep_default_na=False,
                         na_values={c: [""] for c in ("mean", "sd", "p05", "p95")},
                         float_precision="round_trip")
    assert len(ensemble.summary) == len(theirs)
    assert ensemble.summary["mean"].tolist() == theirs["mean"].tolist()
    assert ensemble.summary["p95"].tolist() == theirs["p95"].tolist()
    assert (ensemble.summary["p05"] <= ensemble.summary["p95"]).all()
    assert ensemble.runs_total == 4 and len(ensemble.runs) == 4
    assert ensemble.folder is None


def test_sweep_keeps_its_folder_when_asked(tmp_path):
    ensemble = techdep.sweep(GRID, replicates=2, out=tmp_path / "grid", progress=False)
    assert ensemble.runs_total == 4 * 2
    assert sorted(ensemble.summary["point"].unique()) == [0, 1, 2, 3]
    assert (tmp_path / "grid/summary.csv").exists()
    assert ensemble.manifest["status"] == "completed"


def test_compare_matches_the_cli(tmp_path, cli):
    frame = techdep.compare(TINY, TINY_WEAKER, threads=1)
    cli("compare", TINY, TINY_WEAKER, "--out", tmp_path / "cli")
    theirs = pd.read_csv(tmp_path / "cli/compare_summary.csv", keep_default_na=False,
                         float_precision="round_trip")
    assert frame["series"].astype(str).tolist() == theirs["series"].tolist()
    assert frame["peak_difference"].tolist() == theirs["peak_difference"].tolist()
    chips = frame[frame["series"] == "shortage.EST.chips"].iloc[0]
    assert chips["peak_difference"] < 0  # weaker controls, smaller shortage


def test_compare_names_variants_by_their_overrides():
    base = techdep.load(TINY)
    half = base.with_set({"events[chip-controls].intensity": 0.45})
    frame = techdep.compare(base, half)
    assert set(frame["variant"]) == {"tiny [events[chip-controls].intensity=0.45]"}
    assert frame["peak_difference"].abs().max() > 0


def test_explain_shares_add_up_to_the_change():
    table = techdep.explain(TINY, "shortage", country="EST", sector="chips")
    assert math.isclose(table["shapley"].sum(),
                        table.attrs["with_events"] - table.attrs["without_events"],
                        rel_tol=1e-9, abs_tol=1e-12)
    assert table.attrs["method"] == "exact Shapley"


def test_explain_by_mechanisms_names_them():
    lock_in = os.path.join(os.path.dirname(TINY), "lock-in.yaml")
    table = techdep.explain(lock_in, "domestic_share", country="EST", sector="os",
                            by="mechanisms")
    assert list(table.columns[:1]) == ["mechanism"]
    assert set(table["mechanism"]) >= {"switching_cost", "network_effect", "reentry_cost",
                                       "lasting_distrust"}
    assert table.attrs["with_events"] > table.attrs["without_events"]
    with pytest.raises(ValueError, match="by must be one of"):
        techdep.explain(lock_in, "domestic_share", country="EST", sector="os", by="nothing")


def test_explain_and_sensitivity_look_at_one_demand_segment():
    segments = os.path.join(os.path.dirname(TINY), "segments.yaml")
    whole = techdep.explain(segments, "domestic_share", country="EST", sector="chips")
    state = techdep.explain(segments, "domestic_share", country="EST", sector="chips",
                            segment="state")
    decree = lambda table: float(table.set_index("event").loc["chip-decree", "shapley"])
    assert decree(state) > decree(whole) + 0.01  # the decree binds the state only
    assert "@state" in state.attrs["table"]
    screened = techdep.sensitivity(segments, "domestic_share", country="EST", sector="chips",
                                   segment="state", trajectories=2,
                                   params={"segments.state.elasticity": (0.2, 2.0)})
    assert math.isclose(screened.attrs["nominal_value"], state.attrs["with_events"],
                        rel_tol=1e-12)
    with pytest.raises(Exception, match="not a demand segment of EST's software"):
        techdep.explain(segments, "domestic_share", country="EST", sector="software",
                        segment="state")


def test_sensitivity_matches_the_cli(tmp_path, cli):
    table = techdep.sensitivity(
        TINY, "shortage", country="EST", sector="chips", trajectories=4,
        params={"events[chip-controls].intensity": (0.3, 0.9),
                "sectors.chips.elasticity": (2, 5)})
    assert list(table["rank"]) == [1, 2]
    assert table["mu_star"].is_monotonic_decreasing
    assert table.attrs["runs"] == 4 * (2 + 1) + 1  # every design point, and the nominal run
    cli("sensitivity", TINY, "--metric", "shortage", "--country", "EST", "--sector", "chips",
        "--trajectories", 4, "--param", "events[chip-controls].intensity=0.3:0.9",
        "--param", "sectors.chips.elasticity=2:5", "--out", tmp_path / "cli")
    theirs = pd.read_csv(tmp_path / "cli/sensitivity.csv", float_precision="round_trip")
    assert table["parameter"].tolist() == theirs["parameter"].tolist()
    assert table["mu_star"].tolist() == theirs["mu_star"].tolist()


def test_network_is_a_digraph_or_an_edge_frame():
    graph = techdep.network(STORY, "2023-06", "semiconductors", suppliers=["west"], target="RUS")
    frame = techdep.network(STORY, "2023-06", "semiconductors", suppliers=["west"], target="RUS",
                            as_frame=True)
    assert graph.number_of_edges() == len(frame) > 0
    assert graph.graph["cut"]["capacity"] > 0
    row = frame.iloc[0]
    assert graph.edges[row["source"], row["target"]]["share"] == row["share"]
    with pytest.raises(techdep.UsageError):
        techdep.network(STORY, "1990-01", "semiconductors")


# --- Plots

def test_run_plot_draws_one_line_per_partner_in_report_colours():
    run = techdep.load(STORY).run(progress=False)
    figure = run.plot("supplier_share", country="RUS", sector="semiconductors")
    ax = figure.axes[0]
    assert ax.get_ylabel() == "supplier_share [share]"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == list(dict.fromkeys(
        run.timeseries.query("metric == 'supplier_share' and country == 'RUS'")["partner"]))
    assert ax.get_lines()[0].get_color() == "#1f77b4"
    with pytest.raises(techdep.UsageError, match="varies by country and sector"):
        run.plot("supplier_share")


def test_ensemble_plot_draws_bands():
    ensemble = techdep.replicates(GRID, 5, progress=False)
    figure = ensemble.plot("shortage", country="EST", sector="chips")
    ax = figure.axes[0]
    assert len(ax.collections) == 2  # 5-95 % and 25-75 % bands
    assert [line.get_label() for line in ax.get_lines()] == ["median"]


# --- Ctrl-C

def interrupt_at(runs):
    def progress(done, total):
        if done >= runs:
            _thread.interrupt_main()
    return progress


def test_ctrl_c_stops_an_ensemble_and_removes_its_private_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        techdep.replicates(GRID, 3000, threads=1, progress=interrupt_at(1))
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_leaves_a_named_ensemble_resumable(tmp_path):
    out = tmp_path / "reps"
    with pytest.raises(KeyboardInterrupt):
        techdep.replicates(GRID, 3000, threads=1, out=out, progress=interrupt_at(1))
    assert not out.exists()
    manifest = json.loads((tmp_path / "reps.incomplete/manifest.json").read_text())
    assert manifest["status"] == "interrupted"


@pytest.mark.parametrize("call", [
    lambda progress: techdep.explain(STORY, "shortage", country="RUS", sector="semiconductors",
                                     exact_limit=1, samples=50, threads=1, progress=progress),
    lambda progress: techdep.sensitivity(
        STORY, "shortage", country="RUS", sector="semiconductors", trajectories=100, threads=1,
        params={"sectors.semiconductors.elasticity": (2, 5)}, progress=progress),
])
def test_ctrl_c_stops_explain_and_sensitivity_between_evaluations(call):
    # Hundreds of evaluations of the story each: without the interrupt, minutes.
    with pytest.raises(KeyboardInterrupt):
        call(interrupt_at(1))


def test_ctrl_c_stops_a_run_and_the_next_run_works():
    story = techdep.load(STORY)
    with pytest.raises(KeyboardInterrupt):
        story.run(mode="agents", threads=1, progress=interrupt_at(1))
    assert len(techdep.load(TINY).run(progress=False).timeseries) > 0


SIGINT_SCRIPT = """
import sys, techdep
announced = []
def progress(done, total):
    if done >= 1 and not announced:
        announced.append(done)
        print("started", flush=True)
try:
    techdep.replicates(sys.argv[1], 3000, threads=1, out=sys.argv[2], progress=progress)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(130)
"""


def test_a_real_sigint_raises_keyboard_interrupt_and_completes_nothing(tmp_path):
    out = tmp_path / "reps"
    child = subprocess.Popen([sys.executable, "-c", SIGINT_SCRIPT, str(GRID), str(out)],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout.readline().strip() == "started"
    child.send_signal(signal.SIGINT)
    remaining, _ = child.communicate(timeout=120)
    # Had the signal been missed, the 3000 runs would have finished and the folder appeared.
    assert child.returncode == 130 and "KeyboardInterrupt" in remaining
    assert not out.exists()
    assert json.loads((tmp_path / "reps.incomplete/manifest.json").read_text())["status"] == \
        "interrupted"
