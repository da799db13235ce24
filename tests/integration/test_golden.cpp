// Golden outputs of the teaching world: the run's CSV files against the approved copies in
// tests/golden/teaching-world/expected/, which only tools/update_golden.sh rewrites.
//
// Text fields must match exactly. Numbers are compared within a relative 1e-12 rather than byte
// for byte: the engine writes shortest round-trip decimals, so any change in the last bit of a
// double changes the text, and the compiler is free to change last bits between -O0 and -O2
// (contraction of a*b+c into one fused multiply-add, Eigen's vectorised reductions summing in a
// different order). 1e-12 is about 4500 ulps: far above that noise, far below anything a model
// change would move.

#include <cmath>
#include <charconv>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "integration/cli_runner.hpp"
#include "techdep/app/run.hpp"

namespace fs = std::filesystem;
using techdep::test::read_text;
using techdep::test::TempDir;

namespace {

const fs::path kGolden = fs::path(TECHDEP_SOURCE_DIR) / "tests/golden/teaching-world";
constexpr double kRelativeTolerance = 1e-12;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t stop = text.find(separator, start);
    parts.push_back(text.substr(start, stop == std::string::npos ? std::string::npos : stop - start));
    if (stop == std::string::npos) return parts;
    start = stop + 1;
  }
}

bool parse(const std::string& field, double& value) {
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  return error == std::errc{} && end == field.data() + field.size();
}

// The first differing field, "" when the files agree (the CSVs quote no separators: ids only).
std::string first_difference(const std::string& expected, const std::string& actual) {
  const std::vector<std::string> expected_lines = split(expected, '\n');
  const std::vector<std::string> actual_lines = split(actual, '\n');
  if (expected_lines.size() != actual_lines.size()) {
    return "line counts differ: " + std::to_string(expected_lines.size()) + " expected, " +
           std::to_string(actual_lines.size()) + " written";
  }
  for (std::size_t line = 0; line < expected_lines.size(); ++line) {
    if (expected_lines[line] == actual_lines[line]) continue;
    const std::vector<std::string> want = split(expected_lines[line], ',');
    const std::vector<std::string> got = split(actual_lines[line], ',');
    const std::string where = "line " + std::to_string(line + 1) + ": expected '" +
                              expected_lines[line] + "', written '" + actual_lines[line] + "'";
    if (want.size() != got.size()) return where;
    for (std::size_t field = 0; field < want.size(); ++field) {
      if (want[field] == got[field]) continue;
      double a = 0.0;
      double b = 0.0;
      if (!parse(want[field], a) || !parse(got[field], b)) return where;
      if (std::abs(a - b) > kRelativeTolerance * std::max(std::abs(a), std::abs(b))) return where;
    }
  }
  return "";
}

}  // namespace

TEST_CASE("teaching-world reproduces its golden outputs", "[scenarios][golden]") {
  const TempDir dir;
  techdep::RunRequest request;
  request.scenario_path = (fs::path(TECHDEP_SOURCE_DIR) / "scenarios/teaching-world.yaml").string();
  request.out_dir = dir.path() / "run";
  techdep::run_scenario(request);
  for (const char* name : {"timeseries.csv", "observations.csv", "events.csv"}) {
    INFO(name << ": regenerate with tools/update_golden.sh only if the change is intended");
    const fs::path expected = kGolden / "expected" / name;
    REQUIRE(fs::exists(expected));
    CHECK(first_difference(read_text(expected), read_text(dir.path() / "run" / name)) == "");
  }
}
