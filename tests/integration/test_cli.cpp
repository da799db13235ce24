#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "integration/cli_runner.hpp"

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::run_cli;
using techdep::test::TempDir;

namespace {

const std::string kTiny = "tests/data/cli/tiny.yaml";

std::size_t count_lines(const std::string& text) {
  std::size_t lines = 0;
  for (const char character : text) lines += character == '\n' ? 1U : 0U;
  return lines;
}

}  // namespace

TEST_CASE("CLI --version names the version, commit and build type", "[cli]") {
  const auto result = run_cli("--version");
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("techdep 0.1.0 (commit "));
  CHECK_THAT(result.out, Catch::Contains(" build, "));
}

TEST_CASE("CLI maps usage errors to exit code 2 and documents the codes in --help", "[cli]") {
  CHECK(run_cli("run").exit_code == 2);
  CHECK(run_cli("no-such-command").exit_code == 2);
  CHECK(run_cli("run " + kTiny + " --format sideways").exit_code == 2);
  const auto help = run_cli("--help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("3 invalid scenario"));
  CHECK_THAT(help.out, Catch::Contains("130 interrupted"));
}

TEST_CASE("CLI validate answers 0 for a good file and 3 with file:line:col for a bad one", "[cli]") {
  const auto good = run_cli("validate " + kTiny);
  CHECK(good.exit_code == 0);
  CHECK_THAT(good.out, Catch::Contains("tiny.yaml: ok (2 countries, 2 sectors, 2 events"));

  const TempDir dir;
  const fs::path bad = dir.path() / "bad.yaml";
  std::string text = read_text(fs::path(TECHDEP_SOURCE_DIR) / kTiny);
  text.replace(text.find("    elasticity: 3\n"), 18, "    elastcity: 3\n");
  {
    std::ofstream stream(bad);
    stream << text;
  }
  const auto result = run_cli("validate '" + bad.string() + "' " + kTiny);
  CHECK(result.exit_code == 3);
  CHECK_THAT(result.err, Catch::Contains(bad.string() + ":18:5: error: unknown key 'elastcity'"));
  CHECK_THAT(result.err, Catch::Contains("did you mean 'elasticity'"));
  CHECK_THAT(result.out, Catch::Contains("tiny.yaml: ok"));
  CHECK(run_cli("validate no/such/file.yaml").exit_code == 5);
}

TEST_CASE("CLI run writes a complete run folder described by its manifest", "[cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "run";
  const auto result = run_cli("run " + kTiny + " --out '" + out.string() + "' --format both");
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("OK: 24 steps"));
  CHECK_THAT(result.out, Catch::Contains(out.string()));
  CHECK_THAT(result.out, Catch::Contains("EST"));

  for (const char* name : {"scenario.resolved.yaml", "timeseries.csv", "wide.csv",
                           "observations.csv", "events.csv", "manifest.json", "summary.txt"}) {
    INFO(name);
    CHECK(fs::is_regular_file(out / name));
  }
  // No staging folders or temporary files are left beside or inside the run.
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    CHECK(entry.path().filename() == "run");
  }
  for (const auto& entry : fs::directory_iterator(out)) {
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
  }

  const std::string timeseries = read_text(out / "timeseries.csv");
  CHECK(timeseries.rfind("scenario,point,replicate,step,date,country,sector,partner,segment,metric,value\n",
                         0) == 0);
  CHECK_THAT(timeseries, Catch::Contains("tiny,0,0,0,2021-01,EST,chips,,,domestic_share,0.1\n"));
  CHECK_THAT(timeseries, Catch::Contains("tiny,0,0,24,2023-01,EST,chips,WST,,supplier_share,"));

  const nlohmann::json manifest = nlohmann::json::parse(read_text(out / "manifest.json"));
  CHECK(manifest["status"] == "completed");
  CHECK(manifest["exit_code"] == 0);
  CHECK(manifest["base_seed"] == 7);
  CHECK(manifest["runs"][0]["steps_done"] == 24);
  std::size_t rows = 0;
  for (const auto& output : manifest["outputs"]) {
    if (output["file"] == "timeseries.csv") rows = output["rows"].get<std::size_t>();
  }
  CHECK(rows + 1 == count_lines(timeseries));
  const std::string wide = read_text(out / "wide.csv");
  CHECK(count_lines(wide) == 26);  // header + steps 0..24
  {
    // Every series column has five dot-separated slots (metric.COUNTRY.sector.PARTNER.SEGMENT),
    // empty ones kept, so a sector, a partner and a segment are always told apart by position.
    // Split the header as CSV: units such as `[index, t=0 = 1]` are quoted and hold commas.
    const std::string header = wide.substr(0, wide.find('\n'));
    std::vector<std::string> cells(1);
    bool quoted = false;
    for (const char ch : header) {
      if (ch == '"') {
        quoted = !quoted;
      } else if (ch == ',' && !quoted) {
        cells.emplace_back();
      } else {
        cells.back() += ch;
      }
    }
    int columns = 0;
    bool sector_only = false;
    for (const std::string& column : cells) {
      if (++columns <= 2) continue;
      const std::string name = column.substr(0, column.find(" ["));
      INFO(column);
      CHECK(std::count(name.begin(), name.end(), '.') == 4);
      sector_only = sector_only || name.ends_with("..");
    }
    CHECK(columns > 2);
    CHECK(sector_only);
  }
  REQUIRE(manifest["inputs"].size() == 2);  // the scenario and its facts file
  CHECK(manifest["inputs"][0]["sha256"].get<std::string>().size() == 64);

  const std::string observations = read_text(out / "observations.csv");
  CHECK_THAT(observations, Catch::Contains("T1,domestic_share,EST,chips,,,2021-01,0,0.1,0.1,0,0.001,1\n"));
}

TEST_CASE("CLI run compares an observation of one demand segment with that segment", "[cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "run";
  REQUIRE(run_cli("run tests/data/cli/segments.yaml --out '" + out.string() + "'").exit_code == 0);
  // The segment's own series in timeseries.csv, and the whole's, at the observed date.
  const auto value_of = [&](const std::string& segment) {
    const std::string key = ",2022-06,EST,chips,," + segment + ",domestic_share,";
    const std::string series = read_text(out / "timeseries.csv");
    const std::size_t at = series.find(key);
    REQUIRE(at != std::string::npos);
    const std::size_t begin = at + key.size();
    return series.substr(begin, series.find('\n', begin) - begin);
  };
  const std::string state = value_of("state");
  const std::string whole = value_of("");
  REQUIRE(state != whole);  // the decree binds the state only: the two differ
  const std::string observations = read_text(out / "observations.csv");
  CHECK(observations.starts_with("fact,metric,country,sector,partner,segment,date,step,"));
  CHECK_THAT(observations,
             Catch::Contains("T1,domestic_share,EST,chips,,state,2022-06,17,0.5," + state + ","));
  CHECK_THAT(observations,
             Catch::Contains("T1,domestic_share,EST,chips,,,2022-06,17,0.1," + whole + ","));
}

TEST_CASE("CLI run is byte-reproducible and replays from its resolved scenario", "[cli]") {
  const TempDir dir;
  REQUIRE(run_cli("run " + kTiny + " --out '" + (dir.path() / "a").string() + "'").exit_code == 0);
  REQUIRE(run_cli("run " + kTiny + " --out '" + (dir.path() / "b").string() + "'").exit_code == 0);
  const std::string first = read_text(dir.path() / "a" / "timeseries.csv");
  CHECK(first == read_text(dir.path() / "b" / "timeseries.csv"));

  const fs::path replay = dir.path() / "a" / "scenario.resolved.yaml";
  REQUIRE(run_cli("run '" + replay.string() + "' --out '" + (dir.path() / "c").string() + "'")
              .exit_code == 0);
  CHECK(first == read_text(dir.path() / "c" / "timeseries.csv"));
}

TEST_CASE("CLI run never overwrites and leaves nothing behind on a bad scenario", "[cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "run";
  fs::create_directory(out);
  const auto taken = run_cli("run " + kTiny + " --out '" + out.string() + "'");
  CHECK(taken.exit_code == 5);
  CHECK_THAT(taken.err, Catch::Contains("exists already"));
  CHECK(fs::is_empty(out));

  const fs::path fresh = dir.path() / "fresh";
  const auto bad = run_cli("run " + kTiny + " --set sectors.chips.elasticity=1 --out '" +
                           fresh.string() + "'");
  CHECK(bad.exit_code == 3);
  CHECK_FALSE(fs::exists(fresh));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);  // only the pre-existing folder
}

TEST_CASE("CLI --set changes the run and is recorded in the manifest", "[cli]") {
  const TempDir dir;
  REQUIRE(run_cli("run " + kTiny + " --out '" + (dir.path() / "base").string() + "'").exit_code ==
          0);
  const auto varied = run_cli("run " + kTiny +
                              " --set events[chip-controls].intensity=0.2 --out '" +
                              (dir.path() / "variant").string() + "'");
  REQUIRE(varied.exit_code == 0);
  CHECK(read_text(dir.path() / "base" / "timeseries.csv") !=
        read_text(dir.path() / "variant" / "timeseries.csv"));
  const nlohmann::json manifest =
      nlohmann::json::parse(read_text(dir.path() / "variant" / "manifest.json"));
  CHECK(manifest["overrides"][0] == "events[chip-controls].intensity=0.2");

  const auto unknown = run_cli("run " + kTiny + " --set sectors.chips.elastisity=2 --out '" +
                               (dir.path() / "unknown").string() + "'");
  CHECK(unknown.exit_code == 3);
  CHECK_THAT(unknown.err, Catch::Contains("elasticity"));
}

TEST_CASE("CLI resolve, schema, init and params print usable documents", "[cli]") {
  const auto resolved = run_cli("resolve " + kTiny + " --set time.steps=12");
  CHECK(resolved.exit_code == 0);
  CHECK_THAT(resolved.out, Catch::Contains("steps: 12"));
  CHECK_THAT(resolved.out, Catch::Contains("chip-controls"));

  const auto schema = run_cli("schema");
  CHECK(schema.exit_code == 0);
  const nlohmann::json parsed = nlohmann::json::parse(schema.out);
  CHECK(parsed.contains("properties"));
  CHECK(parsed["properties"].contains("events"));

  const TempDir dir;
  const fs::path starter = dir.path() / "starter.yaml";
  const auto init = run_cli("init minimal");
  CHECK(init.exit_code == 0);
  {
    std::ofstream stream(starter);
    stream << init.out;
  }
  CHECK(run_cli("validate '" + starter.string() + "'").exit_code == 0);
  CHECK(run_cli("init no-such-template").exit_code == 2);

  const auto params = run_cli("params --format json");
  CHECK(params.exit_code == 0);
  bool has_elasticity = false;
  for (const auto& param : nlohmann::json::parse(params.out)) {
    if (param["path"] == "sectors.<sector>.elasticity") {
      has_elasticity = true;
      // "> 0, != 1" as data.
      CHECK(param["bounds"]["minimum"] == 0.0);
      CHECK(param["bounds"]["minimum_exclusive"] == true);
      CHECK_FALSE(param["bounds"].contains("maximum"));
      CHECK(param["bounds"]["excluded"] == nlohmann::json::array({1.0}));
    }
    if (param["path"] == "sectors.<sector>.adjustment") {
      CHECK(param["bounds"]["maximum"] == 1.0);
      CHECK(param["bounds"]["maximum_exclusive"] == false);
    }
  }
  CHECK(has_elasticity);

  // The schema the scenarios name on their first line is shipped beside them, up to date.
  CHECK(schema.out == read_text(fs::path(TECHDEP_SOURCE_DIR) / "scenarios" / "techdep.schema.json"));
}

TEST_CASE("Every shipped scenario validates", "[cli][scenarios]") {
  const fs::path dir = fs::path(TECHDEP_SOURCE_DIR) / "scenarios";
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    const auto result = run_cli("validate '" + entry.path().string() + "'");
    CHECK(result.exit_code == 0);
    CHECK(result.err.empty());
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("CLI network prints the supply network and the minimum cut", "[cli]") {
  const auto text = run_cli("network " + kTiny +
                            " --at 2021-12 --sector chips --suppliers west --target EST");
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("chips network at 2021-12 (step 11)"));
  // The West is the only foreign supplier: the cut is its one edge, of the same weight.
  CHECK_THAT(text.out, Catch::Contains("minimum cut of the flows of west brands to EST: "
                                       "capacity 0.1790 over 1 edge(s)"));
  CHECK_THAT(text.out, Catch::Contains("WST -> EST (0.1790)"));

  const auto dot = run_cli("network " + kTiny + " --at 3 --sector chips --format dot");
  CHECK(dot.exit_code == 0);
  CHECK(dot.out.rfind("digraph", 0) == 0);
  const auto graphml = run_cli("network " + kTiny + " --at 3 --sector chips --format graphml");
  CHECK_THAT(graphml.out, Catch::Contains("<graphml"));

  CHECK(run_cli("network " + kTiny + " --at 2021-12 --sector nuts").exit_code == 2);
  CHECK(run_cli("network " + kTiny + " --at 2031-01 --sector chips").exit_code == 2);
  CHECK(run_cli("network " + kTiny + " --at 3 --sector chips --target EST").exit_code == 2);
}

TEST_CASE("CLI network cuts and ranks hubs on the flows of the suppliers' own brands", "[cli]") {
  // Issue 18: the cut between the West and Russia took every edge into Russia at its full weight
  // (CHN -> RUS at 0.47, mostly Chinese brands no Western control touches), and the USA, the EU
  // and Japan ranked as the top chokepoints. Now the cut is over the West's brands only, so its
  // capacity is their total share of Russia's demand, and the hubs rank by what they carry.
  const auto text = run_cli("network scenarios/sanctions-2022.yaml --at 2023-06 "
                            "--sector semiconductors --suppliers west --target RUS");
  REQUIRE(text.exit_code == 0);
  const auto number_after = [&](const std::string& marker) {
    const std::size_t at = text.out.find(marker);
    REQUIRE(at != std::string::npos);
    return std::stod(text.out.substr(at + marker.size()));
  };
  const double brands = number_after("west brands to RUS (");
  const double capacity = number_after("west brands to RUS: capacity ");
  CHECK(capacity == Approx(brands).margin(1e-4));
  CHECK(capacity < 0.87);  // the old cut, Chinese brands included
  const std::string hubs = text.out.substr(text.out.find("chokepoints:"));
  const std::string first_hub = hubs.substr(hubs.find('\n') + 1, 12);
  CHECK_THAT(first_hub, Catch::Contains("HKG"));
  // Every cut edge carries at most the bloc's flows through its tail.
  const std::string cut = text.out.substr(text.out.find("minimum cut"));
  const std::size_t chn = cut.find("CHN -> RUS (");
  const std::size_t chn_hub = hubs.find("    CHN      ");
  if (chn != std::string::npos && chn_hub != std::string::npos) {
    CHECK(std::stod(cut.substr(chn + 12)) == Approx(std::stod(hubs.substr(chn_hub + 13))).margin(1e-4));
  }
}

TEST_CASE("CLI run --replicates --report draws the bands of its replicates", "[cli][report]") {
  const TempDir dir;
  const fs::path out = dir.path() / "replicates";
  const auto result = run_cli("run " + kTiny + " --set mode=agents --replicates 3 --report --out '" +
                              out.string() + "'");
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("replicate bands"));
  CHECK(fs::is_regular_file(out / "report.html"));
  CHECK(fs::is_regular_file(out / "summary.csv"));

  const auto refused = run_cli("run " + kTiny + " --replicates 3 --summary-only --report --out '" +
                               (dir.path() / "refused").string() + "'");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("--summary-only"));
  CHECK_FALSE(fs::exists(dir.path() / "refused"));
}

TEST_CASE("CLI refuses bad seeds, empty paths and unknown commands as usage errors", "[cli]") {
  const TempDir dir;
  const std::string out = " --out '" + (dir.path() / "run").string() + "'";
  for (const char* seed : {"-5", "18446744073709551616", "9007199254740992", "1e3", "''"}) {
    INFO(seed);
    CHECK(run_cli("run " + kTiny + " --seed " + seed + out).exit_code == 2);
  }
  CHECK_THAT(run_cli("run " + kTiny + " --seed 18446744073709551616" + out).err,
             Catch::Contains("0 to 2^53-1"));
  CHECK_FALSE(fs::exists(dir.path() / "run"));
  const auto empty = run_cli("run " + kTiny + " --out ''");
  CHECK(empty.exit_code == 2);
  CHECK_THAT(empty.err, Catch::Contains("empty path"));
  CHECK(run_cli("sweep " + kTiny + " --out ''").exit_code == 2);

  const auto unknown = run_cli("frobnicate");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Catch::Contains("unknown command 'frobnicate'"));
  CHECK_THAT(unknown.err, Catch::Contains("validate"));
  CHECK_THAT(run_cli("sweeep x").err, Catch::Contains("did you mean 'sweep'?"));
  // --help shows defaults and examples.
  const auto help = run_cli("run --help");
  CHECK_THAT(help.out, Catch::Contains("=long"));
  CHECK_THAT(run_cli("--help").out, Catch::Contains("Examples:"));
}

TEST_CASE("CLI validate and report say what is wrong with a path, exit 5", "[cli]") {
  const TempDir dir;
  const auto folder = run_cli("validate '" + dir.path().string() + "'");
  CHECK(folder.exit_code == 5);
  CHECK_THAT(folder.err, Catch::Contains("is a directory"));
  const fs::path loop = dir.path() / "loop.yaml";
  fs::create_symlink(loop, loop);
  const auto looped = run_cli("validate '" + loop.string() + "'");
  CHECK(looped.exit_code == 5);
  CHECK_THAT(looped.err, !Catch::Contains("no such file"));
  CHECK(run_cli("run '" + loop.string() + "'").exit_code == 5);

  const fs::path run = dir.path() / "run";
  REQUIRE(run_cli("run " + kTiny + " --out '" + run.string() + "'").exit_code == 0);
  const auto missing = run_cli("report '" + run.string() + "' --baseline '" +
                               (dir.path() / "base").string() + "'");
  CHECK(missing.exit_code == 5);
  CHECK_THAT(missing.err, Catch::Contains("no such folder"));
  CHECK_THAT(missing.err, !Catch::Contains("--format long"));
}

TEST_CASE("CLI run of a scenario with a sweep says that it runs one point", "[cli]") {
  const TempDir dir;
  const auto result =
      run_cli("run tests/data/sweep/grid.yaml --replicates 2 --out '" + (dir.path() / "r").string() + "'");
  REQUIRE(result.exit_code == 0);
  CHECK_THAT(result.out, Catch::Contains("has a sweep of 4 points, which `techdep run` does not run"));
  const nlohmann::json manifest =
      nlohmann::json::parse(read_text(dir.path() / "r" / "manifest.json"));
  CHECK(manifest["warnings"].dump().find("sweep of 4 points") != std::string::npos);
  CHECK_FALSE(manifest["libraries"].get<std::string>().empty());
}

