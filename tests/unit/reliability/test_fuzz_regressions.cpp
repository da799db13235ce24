// Replays every kept fuzz input (tests/fuzz/regressions/<target>/) through the same checks as the
// fuzz targets, so the regular suite, and its ASan/UBSan run, guards what fuzzing found.

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "integration/cli_runner.hpp"

namespace {

namespace fs = std::filesystem;

template <typename Check>
int replay(const std::string& target, Check check) {
  int replayed = 0;
  const fs::path dir = fs::path(TECHDEP_SOURCE_DIR) / "tests/fuzz/regressions" / target;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
    INFO(entry.path().string());
    CHECK(check(techdep::test::read_text(entry.path())).empty());
    ++replayed;
  }
  return replayed;
}

}  // namespace

TEST_CASE("Kept fuzz inputs load or are refused cleanly, and accepted ones round-trip",
          "[reliability]") {
  CHECK(replay("fuzz_scenario", techdep::fuzz::check_scenario_input) >= 1);
  CHECK(replay("fuzz_overrides", techdep::fuzz::check_override_input) >= 1);
}

TEST_CASE("A --set path with a non-ASCII byte is refused at its column", "[reliability]") {
  techdep::LoadOptions options;
  options.overrides.push_back(techdep::Override{"blocs.wes\xe8t=[WST]"});
  try {
    techdep::load_scenario(TECHDEP_SOURCE_DIR "/tests/data/cli/tiny.yaml", options);
    FAIL("accepted");
  } catch (const techdep::ScenarioError& error) {
    REQUIRE(error.diagnostics().size() == 1);
    CHECK(error.diagnostics()[0].kind == "bad-override");
    CHECK_THAT(error.what(), Catch::StartsWith("<--set 1>:1:10: error: --set: the path has a "
                                               "control or non-ASCII byte 0xe8 at column 10"));
  }
}

TEST_CASE("Bloc ids obey the id rule like country and sector ids", "[reliability]") {
  try {
    techdep::load_scenario(TECHDEP_SOURCE_DIR
                           "/tests/fuzz/regressions/fuzz_scenario/bloc-id-not-an-id.yaml");
    FAIL("accepted");
  } catch (const techdep::ScenarioError& error) {
    REQUIRE(error.diagnostics().size() == 1);
    CHECK(error.diagnostics()[0].kind == "bad-name");
    CHECK(error.diagnostics()[0].where.line == 7);
    CHECK_THAT(error.what(), Catch::Contains("blocs: 'we st' is not a valid bloc id"));
  }
}

TEST_CASE("A whole number of 2^31 is out of range, not wrapped into an int", "[reliability]") {
  techdep::LoadOptions options;
  options.overrides.push_back(techdep::Override{"time.steps=2147483648"});
  try {
    techdep::load_scenario(TECHDEP_SOURCE_DIR "/tests/data/cli/tiny.yaml", options);
    FAIL("accepted");
  } catch (const techdep::ScenarioError& error) {
    REQUIRE_FALSE(error.diagnostics().empty());
    CHECK(error.diagnostics()[0].kind == "out-of-range");
    CHECK_THAT(error.what(), Catch::Contains("time.steps: 2147483648 is out of range"));
  }
}
