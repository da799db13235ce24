// Limits and output guarantees (docs/reliability.md): caps refused at the offending key, memory
// and output estimates checked before a run starts, NaN never published, stale staging folders
// of killed runs removed.

#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "integration/cli_runner.hpp"
#include "techdep/app/resources.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/output/digest.hpp"
#include "techdep/output/run_folder.hpp"
#include "techdep/output/timeseries_writer.hpp"
#include "techdep/scenario/limits.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace {

namespace fs = std::filesystem;
using techdep::test::TempDir;

const std::string kVirtualPath = "/virtual/limits.yaml";

// A valid scenario of `countries` countries and `sectors` sectors; countries start on line 5 and
// sectors right after them, one per line.
std::string world(int countries, int sectors, int steps = 1, int start_year = 2021) {
  std::string text = "schema_version: 1\nname: big\ntime: {start: " + std::to_string(start_year) +
                     "-01, step: month, steps: " + std::to_string(steps) + "}\ncountries:\n";
  for (int c = 0; c < countries; ++c) {
    text += "  C" + std::to_string(c) + ": {name: C, source: assumption}\n";
  }
  text += "sectors:\n";
  for (int s = 0; s < sectors; ++s) {
    text += "  s" + std::to_string(s) +
            ": {elasticity: 3, adjustment: 0.1, world_supply: {C0: 1}, source: assumption}\n";
  }
  return text;
}

// The one diagnostic of kind limit-exceeded, formatted `file:line:col: error: ...`.
std::string limit_error(const std::string& text) {
  try {
    techdep::load_scenario_text(text, kVirtualPath);
  } catch (const techdep::ScenarioError& error) {
    for (const techdep::Diagnostic& diagnostic : error.diagnostics()) {
      if (diagnostic.kind == "limit-exceeded") {
        return techdep::format_diagnostic(diagnostic).substr(0, diagnostic.message.size() + 40);
      }
    }
    FAIL("no limit-exceeded diagnostic among: " << error.what());
  }
  FAIL("the scenario was accepted");
  return {};
}

}  // namespace

TEST_CASE("Scenarios at a cap load; one past it is refused at the offending key",
          "[reliability]") {
  using namespace techdep::limits;
  CHECK(techdep::load_scenario_text(world(kMaxCountries, 1), kVirtualPath).spec.country_count() ==
        kMaxCountries);
  // The 1001st country is on line 5 + 1000.
  CHECK_THAT(limit_error(world(kMaxCountries + 1, 1)),
             Catch::StartsWith("/virtual/limits.yaml:1005:3: error: countries: 1001 entries "
                               "exceed the limit of 1000"));
  CHECK_THAT(limit_error(world(2, kMaxSectors + 1)),
             Catch::StartsWith("/virtual/limits.yaml:208:3: error: sectors: 201 entries exceed "
                               "the limit of 200"));
  // 100,000 months fit before year 9999 only from an early start.
  CHECK(techdep::load_scenario_text(world(2, 1, kMaxSteps, 1100), kVirtualPath).spec.time.steps ==
        kMaxSteps);
  CHECK_THAT(limit_error(world(2, 1, kMaxSteps + 1)),
             Catch::StartsWith("/virtual/limits.yaml:3:44: error: time.steps: 100001 exceeds the "
                               "limit of 100000 steps"));
  // Yearly steps from 2021: 7978 end in 9999, 7979 would need a five-digit year.
  const auto yearly = [](int steps) {
    std::string text = world(2, 1, steps);
    text.replace(text.find("step: month"), 11, "step: year");
    return text;
  };
  CHECK(techdep::load_scenario_text(yearly(7978), kVirtualPath).spec.time.steps == 7978);
  CHECK_THAT(limit_error(yearly(7979)),
             Catch::StartsWith("/virtual/limits.yaml:3:43: error: time.steps: 7979 steps from "
                               "2021 end in year 10000, after 9999"));
  // 10,000,000 firms per cell x 2 countries x 6 sectors = 120 million agents.
  CHECK_THAT(limit_error(world(2, 6) + "mode: agents\nagents: {firms_per_cell: 10000000}\n"),
             Catch::Contains("agents: 120002000 agents"));
}

TEST_CASE("The memory estimate grows with C x S x C and is refused beyond what is available",
          "[reliability]") {
  const techdep::LoadedScenario small = techdep::load_scenario_text(world(10, 2), kVirtualPath);
  // The estimate reads only the sizes: a spec of the largest shape, without loading one.
  techdep::ScenarioSpec large;
  large.file = kVirtualPath;
  large.countries.resize(1000);
  large.sectors.resize(200);
  const techdep::ResourceEstimate small_estimate = techdep::estimate_resources(small.spec, 10);
  const techdep::ResourceEstimate large_estimate = techdep::estimate_resources(large, 10);
  // 1000 x 200 x 1000 flows at 32 doubles each: 51.2 GB, more than this 24 GiB machine has.
  CHECK(large_estimate.memory_bytes > std::uint64_t{51'200'000'000});
  CHECK(small_estimate.memory_bytes < std::uint64_t{200} << 20);
  // steps 1 records steps 0 and 1 (+1 of slack for the last step): 10 series x 2 rows at least.
  CHECK(small_estimate.output_rows >= 20);

  const TempDir dir;
  CHECK_NOTHROW(techdep::check_resources(small.spec, small_estimate, std::uint64_t{1} << 30,
                                         dir.path()));
  try {
    techdep::check_resources(large, large_estimate, std::uint64_t{8} << 30, dir.path());
    FAIL("a 51 GB run was allowed with 8 GiB available");
  } catch (const techdep::IoError& error) {
    CHECK_THAT(error.what(), Catch::Contains("not enough memory: the run needs about 4"));
    CHECK_THAT(error.what(), Catch::Contains("(1000 countries x 200 sectors x 1000 origins)"));
    CHECK_THAT(error.what(), Catch::Contains("the machine has 8.0 GiB available (MemAvailable)"));
  }
  const auto available = techdep::available_memory_bytes();
  REQUIRE(available.has_value());  // Linux always reports MemAvailable
  CHECK(*available > 0);
}

TEST_CASE("An output over the row limit is refused before the run starts", "[reliability]") {
  const techdep::LoadedScenario loaded =
      techdep::load_scenario_text(world(2, 1, techdep::limits::kMaxSteps, 1100), kVirtualPath);
  const techdep::ResourceEstimate estimate = techdep::estimate_resources(loaded.spec, 1000);
  CHECK(estimate.output_rows == 1000 * (techdep::limits::kMaxSteps + 2));
  const TempDir dir;
  try {
    techdep::check_resources(loaded.spec, estimate, std::nullopt, dir.path());
    FAIL("100 million rows were allowed");
  } catch (const techdep::ScenarioError& error) {
    REQUIRE(error.diagnostics().size() == 1);
    CHECK(error.diagnostics()[0].kind == "limit-exceeded");
    CHECK_THAT(error.what(), Catch::Contains("timeseries.csv would have 100002000 rows, the "
                                             "limit is 50000000"));
  }
}

TEST_CASE("A NaN in a selected series stops the writer with a named invariant", "[reliability]") {
  const techdep::LoadedScenario loaded =
      techdep::load_scenario(TECHDEP_SOURCE_DIR "/tests/data/cli/tiny.yaml");
  const techdep::Simulation simulation(loaded.spec);
  techdep::MetricsFrame frame = simulation.metrics();
  frame.shortage[0] = std::nan("");
  const TempDir dir;
  {
    techdep::TimeseriesFiles files;
    files.long_csv = dir.path() / "timeseries.csv";
    files.in_background = GENERATE(false, true);
    techdep::TimeseriesWriter writer(loaded.spec, files);
    CHECK_THROWS_WITH(writer.record(frame),
                      "step 0 (2021-01): invariant 'finite-output' broken: shortage.EST.chips is "
                      "NaN; nothing was written (run with --check to find the phase that "
                      "produced it)");
  }
  // The writer was abandoned: no file under the final name, no temporary file left.
  CHECK(fs::is_empty(dir.path()));
}

std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_CASE("A writer in the background writes the same bytes and hashes them as it writes",
          "[reliability]") {
  const techdep::LoadedScenario loaded =
      techdep::load_scenario(TECHDEP_SOURCE_DIR "/tests/data/cli/tiny.yaml");
  techdep::Simulation simulation(loaded.spec);
  const TempDir dir;
  const auto files = [&](const std::string& name, bool in_background) {
    techdep::TimeseriesFiles chosen;
    chosen.long_csv = dir.path() / (name + "-long.csv");
    chosen.wide_csv = dir.path() / (name + "-wide.csv");
    chosen.in_background = in_background;
    return chosen;
  };
  techdep::TimeseriesWriter here(loaded.spec, files("here", false));
  techdep::TimeseriesWriter behind(loaded.spec, files("behind", true));
  // More steps than the background may hold back, each a different frame that the next step
  // overwrites: the writer must have taken the values, not a reference to the frame.
  for (int step = 0; step < 24; ++step) {
    here.record(simulation.metrics());
    behind.record(simulation.metrics());
    simulation.step();
  }
  here.commit();
  behind.commit();
  CHECK(behind.long_rows() == here.long_rows());
  CHECK(behind.wide_rows() == 24);
  for (const std::string layout : {"long", "wide"}) {
    const std::string expected = file_text(dir.path() / ("here-" + layout + ".csv"));
    CHECK(expected.size() > 1000);
    CHECK(file_text(dir.path() / ("behind-" + layout + ".csv")) == expected);
  }
  // Each digest is the committed file's, whichever way it was written.
  for (const techdep::TimeseriesWriter* writer : {&here, &behind}) {
    const std::string name = writer == &here ? "here" : "behind";
    CHECK(writer->long_sha256() == techdep::sha256_file_hex(dir.path() / (name + "-long.csv")));
    CHECK(writer->wide_sha256() == techdep::sha256_file_hex(dir.path() / (name + "-wide.csv")));
  }
  CHECK(here.long_sha256() != here.wide_sha256());
}

// A file-size limit makes write(2) fail with EFBIG (SIGXFSZ ignored) as a full disk would.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limited = previous_;
    limited.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = nullptr;
};

TEST_CASE("A write that fails in the background stops the run with the file's error",
          "[reliability]") {
  const techdep::LoadedScenario loaded =
      techdep::load_scenario(TECHDEP_SOURCE_DIR "/tests/data/cli/tiny.yaml");
  const techdep::Simulation simulation(loaded.spec);
  const TempDir dir;
  std::string message;
  int recorded = 0;
  {
    const FileSizeLimit limit(64 * 1024);
    techdep::TimeseriesFiles files;
    files.long_csv = dir.path() / "timeseries.csv";
    files.in_background = true;
    techdep::TimeseriesWriter writer(loaded.spec, files);
    try {
      // Megabytes of rows: the background writer's flushes pass the limit long before the end,
      // and a later record() (or the commit) reports what failed.
      for (; recorded < 20000; ++recorded) writer.record(simulation.metrics());
      writer.commit();
      FAIL("the writes past the file-size limit were not reported");
    } catch (const techdep::IoError& error) {
      message = error.what();
    }
  }
  CHECK_THAT(message, Catch::Contains("timeseries.csv: cannot write"));
  CHECK(recorded < 20000);  // record() reported it: the simulation did not run on to the end
  // Abandoned: no file under the final name, no temporary file left.
  CHECK(fs::is_empty(dir.path()));
}

TEST_CASE("A run folder removes staging folders of processes that are gone", "[reliability]") {
  const TempDir dir;
  // 99999999 is above Linux's largest pid (2^22), so no process has it.
  const fs::path stale = dir.path() / ".old-run.partial-99999999-0badc0de";
  const fs::path live = dir.path() / (".busy-run.partial-" + std::to_string(::getpid()) + "-00000001");
  const fs::path unrelated = dir.path() / ".notes";
  for (const fs::path& folder : {stale, live, unrelated}) fs::create_directory(folder);
  techdep::write_file_atomically(stale / "timeseries.csv", "half");
  {
    const techdep::RunFolder folder(dir.path() / "new-run");
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(live));
    CHECK(fs::exists(unrelated));
  }
}
