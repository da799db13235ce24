"""The worked example of docs/python.md: run the 2022 story, compare it with a variant, and plot
China's share of Russia's chip supply with bands from replicates. CTest runs it
(python.docs_example) and it writes the figures the doc shows:

    PYTHONPATH=build/release/engine/python /usr/bin/python3 docs/examples/python_example.py

writes docs/images/python-story.png and docs/images/python-bands.png (--out DIR: elsewhere).
"""

import argparse
import pathlib

import matplotlib

matplotlib.use("Agg")

import techdep

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", default="docs/images", help="folder for the PNG files")
out = pathlib.Path(parser.parse_args().out)
out.mkdir(parents=True, exist_ok=True)

# 1. The 2022 story, in memory: a tidy DataFrame of every series.
story = techdep.load("scenarios/sanctions-2022.yaml")
run = story.run()
chips = run.timeseries.query("metric == 'supplier_share' and country == 'RUS' "
                             "and sector == 'semiconductors'")
china = chips[chips.partner == "CHN"].set_index("date")["value"]
print(f"China's share of Russia's chips: {china.iloc[0]:.3f} in {china.index[0]}, "
      f"{china.iloc[-1]:.3f} in {china.index[-1]}")
figure = run.plot("supplier_share", country="RUS", sector="semiconductors",
                  partner=["CHN", "RUS", "USA", "TWN", "KOR"])
figure.savefig(out / "python-story.png", dpi=100)

# 2. A variant: hubs enforced, so a tenth of the controlled chip trade gets through instead of
#    0.4. Same seed, every series compared.
enforced = story.with_set({"events[chips-controls-2022-routes].evasion": 0.1})
differences = techdep.compare(story, enforced)
russian_chips = differences[differences.series.str.contains(r"\.RUS\.semiconductors")]
largest = russian_chips.sort_values("peak_difference", key=abs, ascending=False)
print(largest[["series", "base_end", "variant_end", "peak_difference", "peak_date"]]
      .head(6).to_string(index=False))

# 3. Two assumptions left uncertain (docs/examples/sanctions-2022-uncertain.yaml): 20 replicates,
#    the median and the 25-75 % and 5-95 % bands of China's share.
ensemble = techdep.replicates("docs/examples/sanctions-2022-uncertain.yaml", 20)
figure = ensemble.plot("supplier_share", country="RUS", sector="semiconductors", partner="CHN")
figure.savefig(out / "python-bands.png", dpi=100)

# What the doc says about these numbers, checked every time CI runs the example.
assert china.iloc[-1] > china.iloc[0], "China's share rises in the 2022 story"
rus_chips = differences.set_index("series").loc["shortage.RUS.semiconductors"]
assert rus_chips["peak_difference"] > 0, "enforced hubs deepen Russia's chip shortage"
end = ensemble.summary.query("metric == 'supplier_share' and country == 'RUS' and "
                             "sector == 'semiconductors' and partner == 'CHN'").iloc[-1]
assert end["p05"] < end["p50"] < end["p95"], "the uncertain assumptions spread the outcome"
print(f"replicates: China's share at {end['date']}: median {end['p50']:.3f}, "
      f"5-95 % {end['p05']:.3f}..{end['p95']:.3f}")
