"""CSV text of the engine's tables to typed pandas DataFrames (docs/python.md, "Types").

Ids are categories, dates pandas Periods of the scenario's step, values float64. A dimension that
does not apply (the sector of a country metric, the partner of most metrics) is the empty string,
as in the CSV, never NaN: pandas drops NaN keys in groupby and pivot_table by default, and a
country id such as NA (Namibia) must stay an id.
"""

from __future__ import annotations

import io

import pandas as pd

# The step unit of a scenario to the frequency of its Period dates.
_PERIOD_FREQ = {"month": "M", "quarter": "Q", "year": "A"}

_ID_COLUMNS = ("scenario", "country", "sector", "partner", "segment", "metric", "fact", "rule",
               "event", "variant", "series")
_DATE_COLUMNS = ("date", "peak_date", "first_divergence_date")


def read_csv(data, step_unit: str, *, ints=(), floats=(), flags=()) -> pd.DataFrame:
    """Reads one of the engine's CSV tables (UTF-8 bytes or str) exactly: numbers round-trip,
    empty fields of number columns are NaN, empty fields of text columns stay ''."""
    if isinstance(data, str):
        data = data.encode()
    header = data[:data.index(b"\n")].decode().split(",")
    dtypes = {}
    for name in header:
        if name in ints:
            dtypes[name] = "int64"
        elif name in floats:
            dtypes[name] = "float64"
        elif name in _ID_COLUMNS or name in _DATE_COLUMNS:
            dtypes[name] = "category"
        else:
            dtypes[name] = str
    frame = pd.read_csv(io.BytesIO(data), dtype=dtypes, keep_default_na=False,
                        na_values={name: [""] for name in floats if name in header},
                        float_precision="round_trip")
    for name in flags:
        if name in frame.columns:
            frame[name] = frame[name].map({"1": True, "0": False, "": pd.NA}).astype("boolean")
    for name in _DATE_COLUMNS:
        if name in frame.columns:
            frame[name] = to_periods(frame[name], step_unit)
    return frame


def to_periods(labels: pd.Series, step_unit: str) -> pd.Series:
    """`2022-03`, `2022-Q1` or `2022` labels (text or categories) to Periods; '' to NaT."""
    freq = _PERIOD_FREQ[step_unit]
    if isinstance(labels.dtype, pd.CategoricalDtype):
        codes, uniques = labels.cat.codes.to_numpy(), labels.cat.categories
    else:
        codes, uniques = pd.factorize(labels)
    periods = pd.PeriodIndex([pd.Period(label, freq=freq) if label else pd.NaT
                              for label in uniques], freq=freq)
    values = periods.take(codes, allow_fill=True, fill_value=pd.NaT)
    return pd.Series(values, index=labels.index, name=labels.name)


def timeseries(data, step_unit: str) -> pd.DataFrame:
    return read_csv(data, step_unit, ints=("point", "replicate", "step"), floats=("value",))


def summary(data, step_unit: str) -> pd.DataFrame:
    return read_csv(data, step_unit, ints=("point", "step", "n"),
                    floats=("mean", "sd", "p05", "p25", "p50", "p75", "p95", "min", "max"))


def observations(data, step_unit: str) -> pd.DataFrame:
    return read_csv(data, step_unit, ints=("step",),
                    floats=("observed", "model", "residual", "tolerance"),
                    flags=("within_tolerance",))


def events(data, step_unit: str) -> pd.DataFrame:
    return read_csv(data, step_unit, ints=("step",), floats=("condition_value",))
