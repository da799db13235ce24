"""Shared fixtures of the Python package's tests (run by CTest: tests/CMakeLists.txt sets
PYTHONPATH to the built package and TECHDEP_CLI to the `techdep` binary)."""

import os
import pathlib
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("TECHDEP_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
TINY = SOURCE_DIR / "tests/data/cli/tiny.yaml"
TINY_WEAKER = SOURCE_DIR / "tests/data/cli/tiny-weaker.yaml"
GRID = SOURCE_DIR / "tests/data/sweep/grid.yaml"
STORY = SOURCE_DIR / "scenarios/sanctions-2022.yaml"


@pytest.fixture(scope="session")
def cli():
    """Runs the `techdep` binary; returns the CompletedProcess."""
    binary = os.environ.get("TECHDEP_CLI")
    if not binary:
        pytest.fail("TECHDEP_CLI is not set: run these tests through CTest")

    def run(*args, check=True):
        result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                                cwd=SOURCE_DIR)
        if check and result.returncode != 0:
            raise AssertionError(f"techdep {' '.join(map(str, args))} exited "
                                 f"{result.returncode}: {result.stderr}")
        return result

    return run
