#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "app/run_executor.hpp"
#include "integration/cli_runner.hpp"
#include "techdep/app/sensitivity.hpp"
#include "techdep/app/sweep.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/core/statistics.hpp"

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::run_cli;
using techdep::test::TempDir;

namespace {

const std::string kData = std::string(TECHDEP_SOURCE_DIR) + "/tests/data/sweep/";

using Row = std::map<std::string, std::string>;

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (const char ch : line) {
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      fields.push_back(field);
      field.clear();
    } else {
      field += ch;
    }
  }
  fields.push_back(field);
  return fields;
}

std::vector<Row> read_csv(const fs::path& path) {
  std::istringstream in(read_text(path));
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> fields = split(line);
    Row row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  return rows;
}

techdep::SweepRequest sweep_request(const std::string& scenario, const fs::path& out,
                                    int threads = 1) {
  techdep::SweepRequest request;
  request.scenario_path = kData + scenario;
  request.out_dir = out;
  request.threads = threads;
  request.write_timeseries = true;
  return request;
}

// Runs `request` until `runs` runs have finished, then stops it as Ctrl-C would; leaves
// `request` set up to resume.
techdep::SweepOutcome stop_after(techdep::SweepRequest& request, std::atomic<bool>& interrupt,
                                 std::size_t runs) {
  request.interrupt = &interrupt;
  request.on_progress = [&interrupt, runs](const techdep::SweepProgress& progress) {
    if (progress.done == runs) interrupt = true;
  };
  const techdep::SweepOutcome outcome = techdep::run_sweep(request);
  interrupt = false;
  request.on_progress = nullptr;
  request.resume = true;
  return outcome;
}

nlohmann::json manifest(const fs::path& folder) {
  return nlohmann::json::parse(read_text(folder / "manifest.json"));
}

}  // namespace

TEST_CASE("Sweep seeds are run_seed(base, replicate), shared by every point, recorded per run",
          "[sweep]") {
  const TempDir dir;
  const techdep::SweepOutcome outcome = techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "out"));
  REQUIRE(outcome.status == techdep::RunStatus::Completed);
  REQUIRE(outcome.runs_total == 12);
  const std::vector<Row> runs = read_csv(dir.path() / "out" / "runs.csv");
  REQUIRE(runs.size() == 12);
  for (std::size_t index = 0; index < runs.size(); ++index) {
    const int point = std::stoi(runs[index].at("point"));
    const int replicate = std::stoi(runs[index].at("replicate"));
    CHECK(point == static_cast<int>(index / 3));
    CHECK(replicate == static_cast<int>(index % 3));
    CHECK(runs[index].at("seed") ==
          std::to_string(techdep::run_seed(7, static_cast<std::uint64_t>(replicate))));
    // Common random numbers: replicate r of every point draws from the same seed.
    CHECK(runs[index].at("seed") == runs[static_cast<std::size_t>(replicate)].at("seed"));
    // Below 2^53, so R, JavaScript and spreadsheets read it back exactly.
    CHECK(std::stoull(runs[index].at("seed")) <= techdep::kMaxSeed);
  }
  const nlohmann::json json = manifest(dir.path() / "out");
  CHECK(json.at("base_seed") == 7);
  CHECK(json.at("runs").size() == 12);
  CHECK(json.at("runs")[5].at("seed") == techdep::run_seed(7, 2));
  CHECK(json.at("status") == "completed");
}

TEST_CASE("Uncertain parameters make aggregate replicates differ, within their ranges", "[sweep]") {
  const TempDir dir;
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "out"));
  const std::vector<Row> runs = read_csv(dir.path() / "out" / "runs.csv");
  std::set<std::string> elasticities;
  for (const Row& run : runs) {
    const double elasticity = std::stod(run.at("sectors.chips.elasticity"));
    const double intensity = std::stod(run.at("events[chip-controls].intensity"));
    CHECK(elasticity >= 2.0);
    CHECK(elasticity <= 5.0);
    CHECK(intensity >= 0.5);
    CHECK(intensity <= 0.9);
    elasticities.insert(run.at("sectors.chips.elasticity"));
  }
  // One draw per replicate, shared by the 4 points (common random numbers): 3 distinct values.
  CHECK(elasticities.size() == 3);
  // The end-of-run shortage of the controlled sector differs between the replicates of a point.
  std::set<std::string> shortages;
  for (const Row& row : read_csv(dir.path() / "out" / "timeseries.csv")) {
    if (row.at("point") == "0" && row.at("step") == "24" && row.at("metric") == "shortage" &&
        row.at("sector") == "chips") {
      shortages.insert(row.at("value"));
    }
  }
  CHECK(shortages.size() == 3);
}

TEST_CASE("A variant that changes nothing gives zero differences in every replicate", "[sweep]") {
  const TempDir dir;
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "base"));
  techdep::run_sweep(sweep_request("grid-same.yaml", dir.path() / "same"));
  const std::vector<Row> base = read_csv(dir.path() / "base" / "timeseries.csv");
  const std::vector<Row> same = read_csv(dir.path() / "same" / "timeseries.csv");
  REQUIRE(base.size() == same.size());
  REQUIRE(base.size() > 100);
  std::size_t differences = 0;
  for (std::size_t index = 0; index < base.size(); ++index) {
    differences += base[index].at("value") != same[index].at("value") ? 1 : 0;
    differences += base[index].at("replicate") != same[index].at("replicate") ? 1 : 0;
  }
  CHECK(differences == 0);
  CHECK(read_text(dir.path() / "base" / "runs.csv") == read_text(dir.path() / "same" / "runs.csv"));
}

TEST_CASE("summary.csv holds the type-7 statistics of each point's replicates", "[sweep]") {
  const TempDir dir;
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "out"));
  std::map<std::string, std::vector<double>> values;
  for (const Row& row : read_csv(dir.path() / "out" / "timeseries.csv")) {
    const std::string key = row.at("point") + "|" + row.at("step") + "|" + row.at("country") +
                            "|" + row.at("sector") + "|" + row.at("partner") + "|" +
                            row.at("metric");
    values[key].push_back(row.at("value").empty() ? std::nan("") : std::stod(row.at("value")));
  }
  const std::vector<Row> summary = read_csv(dir.path() / "out" / "summary.csv");
  REQUIRE(summary.size() == values.size());
  std::size_t checked = 0;
  for (const Row& row : summary) {
    const std::string key = row.at("point") + "|" + row.at("step") + "|" + row.at("country") +
                            "|" + row.at("sector") + "|" + row.at("partner") + "|" +
                            row.at("metric");
    std::vector<double> sample = values.at(key);
    REQUIRE(sample.size() == 3);
    const techdep::SampleSummary stats = techdep::summarize(sample);
    CHECK(std::stoi(row.at("n")) == stats.n);
    if (stats.n == 3) {
      CHECK(std::stod(row.at("mean")) == stats.mean);
      CHECK(std::stod(row.at("p05")) == stats.p05);
      CHECK(std::stod(row.at("p50")) == sample[1]);
      CHECK(std::stod(row.at("min")) == sample[0]);
      CHECK(std::stod(row.at("max")) == sample[2]);
      ++checked;
    }
  }
  CHECK(checked > 100);
}

TEST_CASE("points.csv joins each point to the values the sweep set", "[sweep]") {
  const TempDir dir;
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "out"));
  const std::vector<Row> points = read_csv(dir.path() / "out" / "points.csv");
  REQUIRE(points.size() == 4);
  // Odometer order: the first path changes slowest.
  CHECK(points[1].at("countries.EST.talent") == "1000");
  CHECK(points[1].at("sectors.software.elasticity") == "2.5");
  CHECK(points[2].at("countries.EST.talent") == "2500");
  std::map<std::string, std::string> talent_at_start;
  for (const Row& row : read_csv(dir.path() / "out" / "summary.csv")) {
    if (row.at("metric") == "talent" && row.at("step") == "0") {
      talent_at_start[row.at("point")] = row.at("mean");
    }
  }
  for (const Row& point : points) {
    CHECK(talent_at_start.at(point.at("point")) == point.at("countries.EST.talent"));
  }
}

TEST_CASE("from_csv designs: one point per row, an empty cell keeps the scenario's value", "[sweep]") {
  const TempDir dir;
  techdep::SweepRequest request = sweep_request("from-csv.yaml", dir.path() / "out");
  techdep::run_sweep(request);
  const std::vector<Row> points = read_csv(dir.path() / "out" / "points.csv");
  REQUIRE(points.size() == 2);
  CHECK(points[1].at("events[chip-controls].intensity").empty());
  const techdep::LoadedScenario loaded = techdep::load_scenario(kData + "from-csv.yaml");
  CHECK(loaded.point_spec(0).events[0].intensity == 0.2);
  CHECK(loaded.point_spec(1).events[0].intensity == 0.8);
  CHECK(loaded.point_spec(1).countries[0].talent == 4000);
}

TEST_CASE("A sweep writes the same bytes on one thread and on several", "[sweep]") {
  const TempDir dir;
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "one", 1));
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "four", 4));
  for (const char* file : {"summary.csv", "timeseries.csv", "points.csv", "runs.csv",
                           "scenario.resolved.yaml"}) {
    INFO(file);
    CHECK(read_text(dir.path() / "one" / file) == read_text(dir.path() / "four" / file));
  }
}

TEST_CASE("Runs that fail inside a sweep are recorded while the others complete", "[sweep][cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  const techdep::test::CliResult result =
      run_cli("sweep '" + kData + "failing.yaml' --out '" + out.string() + "' --progress none");
  CHECK(result.exit_code == 4);
  const nlohmann::json json = manifest(out);
  CHECK(json.at("status") == "partial");
  CHECK(json.at("exit_code") == 4);
  int failed = 0;
  int completed = 0;
  std::map<int, int> completed_per_point;
  for (const nlohmann::json& run : json.at("runs")) {
    if (run.at("status") == "failed") {
      ++failed;
      const double drawn = run.at("samples")[0].get<double>();
      CHECK((drawn <= 0.0 || drawn > 1.0));
      CHECK(run.at("error").get<std::string>().find("adjustment") != std::string::npos);
    } else {
      ++completed;
      ++completed_per_point[run.at("point").get<int>()];
    }
  }
  CHECK(failed > 0);
  CHECK(completed > 0);
  CHECK(failed + completed == 12);
  for (const Row& row : read_csv(out / "summary.csv")) {
    CHECK(std::stoi(row.at("n")) <= completed_per_point[std::stoi(row.at("point"))]);
  }
  CHECK(result.err.find("some runs failed") != std::string::npos);
}

TEST_CASE("An interrupted sweep resumes without redoing finished runs", "[sweep]") {
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  std::atomic<bool> interrupt{false};
  techdep::SweepRequest request = sweep_request("grid.yaml", out);
  request.interrupt = &interrupt;
  // The fifth run to finish asks for a stop, as Ctrl-C would: runs 0-4 are kept, two points
  // are written, and runs 3-4 wait in their run files.
  request.on_progress = [&](const techdep::SweepProgress& progress) {
    if (progress.done == 5) interrupt = true;
  };
  const techdep::SweepOutcome first = techdep::run_sweep(request);
  CHECK(first.status == techdep::RunStatus::Interrupted);
  CHECK(first.runs_this_session == 5);
  CHECK_FALSE(fs::exists(out));
  REQUIRE(fs::exists(techdep::incomplete_dir(out)));
  CHECK(manifest(techdep::incomplete_dir(out)).at("status") == "interrupted");

  // Resuming without --resume is refused; with it, the 7 missing runs are done.
  interrupt = false;
  request.on_progress = nullptr;
  CHECK_THROWS_AS(techdep::run_sweep(sweep_request("grid.yaml", out)), techdep::IoError);
  request.resume = true;
  const techdep::SweepOutcome second = techdep::run_sweep(request);
  CHECK(second.status == techdep::RunStatus::Completed);
  CHECK(second.runs_this_session == 7);
  CHECK_FALSE(fs::exists(techdep::incomplete_dir(out)));
  const nlohmann::json json = manifest(out);
  CHECK(json.at("sessions") == 2);
  for (const nlohmann::json& run : json.at("runs")) {
    CHECK(run.at("session") == (run.at("run").get<int>() < 5 ? 1 : 2));
  }

  // The resumed folder holds the same data as an uninterrupted sweep.
  techdep::SweepRequest straight = sweep_request("grid.yaml", dir.path() / "straight");
  straight.overrides = request.overrides;
  techdep::run_sweep(straight);
  for (const char* file : {"summary.csv", "timeseries.csv", "runs.csv", "points.csv"}) {
    INFO(file);
    CHECK(read_text(out / file) == read_text(dir.path() / "straight" / file));
  }
}

TEST_CASE("Resuming with other settings is refused", "[sweep]") {
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  std::atomic<bool> interrupt{true};
  techdep::SweepRequest request = sweep_request("grid.yaml", out);
  request.interrupt = &interrupt;
  CHECK(techdep::run_sweep(request).status == techdep::RunStatus::Interrupted);
  techdep::SweepRequest other = sweep_request("grid.yaml", out);
  other.resume = true;
  other.replicates = 5;
  CHECK_THROWS_AS(techdep::run_sweep(other), techdep::UsageError);
}

TEST_CASE("Resuming a finished sweep computes nothing and succeeds; other settings are refused",
          "[sweep]") {
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  REQUIRE(techdep::run_sweep(sweep_request("grid.yaml", out)).status ==
          techdep::RunStatus::Completed);
  const std::string summary = read_text(out / "summary.csv");
  techdep::SweepRequest again = sweep_request("grid.yaml", out);
  again.resume = true;
  const techdep::SweepOutcome outcome = techdep::run_sweep(again);
  CHECK(outcome.status == techdep::RunStatus::Completed);
  CHECK(outcome.runs_this_session == 0);
  CHECK(outcome.runs_total == 12);
  CHECK_THAT(outcome.summary, Catch::Contains("finished already"));
  CHECK(read_text(out / "summary.csv") == summary);
  // Without --resume the finished folder is still never touched.
  CHECK_THROWS_AS(techdep::run_sweep(sweep_request("grid.yaml", out)), techdep::IoError);
  techdep::SweepRequest other = sweep_request("grid.yaml", out);
  other.resume = true;
  other.seed = 8;
  CHECK_THROWS_AS(techdep::run_sweep(other), techdep::UsageError);
}

TEST_CASE("Points of a sweep share random numbers: replicate r draws the same values everywhere",
          "[sweep]") {
  const TempDir dir;
  techdep::run_sweep(sweep_request("grid.yaml", dir.path() / "out"));
  const std::vector<Row> runs = read_csv(dir.path() / "out" / "runs.csv");
  REQUIRE(runs.size() == 12);
  for (const Row& run : runs) {
    const Row& first = runs[static_cast<std::size_t>(std::stoi(run.at("replicate")))];
    CHECK(run.at("sectors.chips.elasticity") == first.at("sectors.chips.elasticity"));
    CHECK(run.at("events[chip-controls].intensity") == first.at("events[chip-controls].intensity"));
  }
}

TEST_CASE("run --replicates writes every replicate and a summary", "[sweep][cli]") {
  const TempDir dir;
  const fs::path out = dir.path() / "reps";
  const techdep::test::CliResult result =
      run_cli("run tests/data/cli/tiny.yaml --replicates 3 --progress none --out '" +
              out.string() + "'");
  REQUIRE(result.exit_code == 0);
  std::set<std::string> replicates;
  for (const Row& row : read_csv(out / "timeseries.csv")) replicates.insert(row.at("replicate"));
  CHECK(replicates == std::set<std::string>{"0", "1", "2"});
  // Without uncertain parameters, aggregate replicates agree: sd 0 wherever defined.
  for (const Row& row : read_csv(out / "summary.csv")) {
    CHECK(row.at("n") == "3");
    if (!row.at("sd").empty()) CHECK(std::stod(row.at("sd")) == 0.0);
  }
  const techdep::test::CliResult summary_only =
      run_cli("run tests/data/cli/tiny.yaml --replicates 2 --summary-only --progress none --out '" +
              (dir.path() / "lean").string() + "'");
  REQUIRE(summary_only.exit_code == 0);
  CHECK_FALSE(fs::exists(dir.path() / "lean" / "timeseries.csv"));
  CHECK(fs::exists(dir.path() / "lean" / "summary.csv"));
}

TEST_CASE("Sweep and uncertain paths are checked at load time with locations", "[sweep][cli]") {
  const techdep::test::CliResult result = run_cli("validate '" + kData + "bad-paths.yaml'");
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("bad-paths.yaml:3:") != std::string::npos);
  CHECK(result.err.find("did you mean 'elasticity'") != std::string::npos);
  CHECK(result.err.find("'mode' does not apply to a uniform distribution") != std::string::npos);
  CHECK(result.err.find("bad-paths.yaml:7:11: error: sweep: unknown path 'events[chip-control]") !=
        std::string::npos);
  CHECK(result.err.find("did you mean 'chip-controls'") != std::string::npos);
}

TEST_CASE("Progress as JSON Lines goes to stderr, data to stdout", "[sweep][cli]") {
  const TempDir dir;
  const techdep::test::CliResult result =
      run_cli("sweep '" + kData + "grid.yaml' --replicates 1 --progress json --out '" +
              (dir.path() / "out").string() + "'");
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("run_done") == std::string::npos);
  std::istringstream lines(result.err);
  std::string line;
  int events = 0;
  while (std::getline(lines, line)) {
    const nlohmann::json event = nlohmann::json::parse(line);
    CHECK(event.at("event") == "run_done");
    CHECK(event.at("of") == 4);
    CHECK(event.at("run") == ++events);
  }
  CHECK(events == 4);
}

TEST_CASE("Morris screening ranks a scenario's assumptions", "[sweep]") {
  techdep::SensitivityRequest request;
  request.scenario = std::string(TECHDEP_SOURCE_DIR) + "/tests/data/cli/tiny.yaml";
  request.metric = "shortage";
  request.country = "EST";
  request.sector = "chips";
  request.at = "2022-06";
  // The control's intensity drives the chip shortage; the West's talent cannot touch it.
  request.params = {"events[chip-controls].intensity=0.2:0.9", "countries.WST.talent=4000:6000"};
  request.trajectories = 4;
  const techdep::SensitivityOutcome outcome = techdep::sensitivity_analysis(request);
  REQUIRE(outcome.parameters.size() == 2);
  CHECK(outcome.parameters[0].path == "events[chip-controls].intensity");
  CHECK(outcome.parameters[0].stats.mu > 0.0);
  CHECK(outcome.parameters[1].stats.mu_star == 0.0);
  CHECK(outcome.runs == 4 * 3 + 1);
}

TEST_CASE("After a stop, runs already computed are saved, not summarised, and the sweep says "
          "interrupted", "[sweep]") {
  // The stop comes once every run is computed (the last progress report): before, the queued
  // results were still summarised and the sweep ended "completed" with exit 0.
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  std::atomic<bool> interrupt{false};
  techdep::SweepRequest request = sweep_request("grid.yaml", out, 1);
  const techdep::SweepOutcome first = stop_after(request, interrupt, 11);
  CHECK(first.status == techdep::RunStatus::Interrupted);
  CHECK(first.runs_this_session == 11);
  CHECK_FALSE(fs::exists(out));
  const techdep::SweepOutcome second = techdep::run_sweep(request);
  CHECK(second.status == techdep::RunStatus::Completed);
  CHECK(second.runs_this_session == 1);
}

TEST_CASE("Saved runs pack their constant series; a run file cut short is computed again",
          "[sweep]") {
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  std::atomic<bool> interrupt{false};
  techdep::SweepRequest request = sweep_request("grid.yaml", out, 1);
  // Runs 9 and 10 wait in their run files for run 11, the rest of their point.
  stop_after(request, interrupt, 11);
  const fs::path runs = techdep::incomplete_dir(out) / "runs";
  REQUIRE(fs::exists(runs / "9.run"));
  REQUIRE(fs::exists(runs / "10.run"));
  // Unpacked, run 9 would hold every recorded value: 12 runs' series x steps in timeseries.csv.
  techdep::SweepRequest straight = sweep_request("grid.yaml", dir.path() / "straight");
  techdep::run_sweep(straight);
  const std::size_t values_per_run =
      read_csv(dir.path() / "straight" / "timeseries.csv").size() / 12;
  CHECK(fs::file_size(runs / "9.run") < values_per_run * sizeof(double) / 2);
  // A crash while writing run 10 leaves it short: resuming computes it again.
  fs::resize_file(runs / "10.run", fs::file_size(runs / "10.run") - 8);
  const techdep::SweepOutcome second = techdep::run_sweep(request);
  CHECK(second.status == techdep::RunStatus::Completed);
  CHECK(second.runs_this_session == 2);
  for (const char* file : {"summary.csv", "timeseries.csv"}) {
    INFO(file);
    CHECK(read_text(out / file) == read_text(dir.path() / "straight" / file));
  }
}

TEST_CASE("Runs in flight when a stop is asked for are dropped, and resuming redoes them", "[sweep]") {
  const TempDir dir;
  const fs::path out = dir.path() / "out";
  std::atomic<bool> interrupt{false};
  // Three 12-step runs, then six of 8,000 steps, on 2 workers. The stop is asked for at the
  // second report, from the thread that takes the results; on a loaded machine that thread can
  // get no core while the runs finish. Even then at most 8 runs finish: 2 held by the workers
  // and 4 queued (the queue's bound) before the first report, and one more started each time a
  // result leaves the queue before the stop (the first two). So the ninth is never finished, and
  // the runs still going are dropped.
  techdep::SweepRequest request = sweep_request("stop.yaml", out, 2);
  request.interrupt = &interrupt;
  // They must be dropped cleanly, not recorded half done.
  request.on_progress = [&](const techdep::SweepProgress& progress) {
    if (progress.done == 2) interrupt = true;
  };
  const techdep::SweepOutcome first = techdep::run_sweep(request);
  CHECK(first.status == techdep::RunStatus::Interrupted);
  interrupt = false;
  request.on_progress = nullptr;
  request.resume = true;
  const techdep::SweepOutcome second = techdep::run_sweep(request);
  CHECK(second.status == techdep::RunStatus::Completed);
  CHECK(first.runs_this_session < 9);
  CHECK(first.runs_this_session + second.runs_this_session == 9);
  techdep::SweepRequest straight = sweep_request("stop.yaml", dir.path() / "straight");
  techdep::run_sweep(straight);
  CHECK(read_text(out / "summary.csv") == read_text(dir.path() / "straight" / "summary.csv"));
}

TEST_CASE("Finished runs wait for a slow writer in a bounded queue", "[sweep]") {
  // 60 instant runs on 2 threads and a writer that takes 2 ms a result: without a bound every
  // run would be finished and queued long before the writer caught up (megabytes each in a
  // story scenario). With it, at most 2 x 2 wait in the queue, one is being written and each
  // worker holds one it finished.
  const auto executor = techdep::detail::make_thread_executor(2);
  std::vector<std::size_t> todo(60);
  for (std::size_t index = 0; index < todo.size(); ++index) todo[index] = index;
  std::atomic<std::size_t> finished{0};
  std::size_t written = 0;
  std::size_t most_waiting = 0;
  std::set<std::string> seen;
  executor->execute(
      todo,
      [&](std::size_t index) {
        ++finished;
        return std::to_string(index);
      },
      [&](std::string result) {
        most_waiting = std::max(most_waiting, finished.load() - written);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        seen.insert(std::move(result));
        ++written;
      },
      nullptr);
  CHECK(seen.size() == 60);  // every run reached the writer once
  CHECK(most_waiting <= 2 * 2 + 1 + 2);
  CHECK(most_waiting >= 1);
}
