// The supply table is read without a node per cell (engine/scenario/tables.cpp). These tests pin
// what that must not change: the rows' order and text in the resolved scenario, the numbers, paths
// into the table, and every problem's csv file:line:col, message and order.

#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "scenario_test_support.hpp"

namespace techdep::test {
namespace {

constexpr const char* kMixedScenario = R"(schema_version: 1
name: mixed-tables
time: {start: 2021-01, steps: 12}
countries: {A: {talent: 1}, B: {talent: 1}, C: {talent: 1}}
sectors:
  x: {}
  y: {world_supply: {A: 0.5, B: 0.5}}
supply:
  A:
    x: {A: 0.7, B: 0.3}
  B: {}
tables: {supply: mixed.csv}
)";

// Rows of one (buyer, sector) apart, a blank line, quoted and padded fields, rows for a buyer the
// scenario lists and for one it does not.
constexpr const char* kMixedTable = R"(buyer,sector,origin,share
C,x,C,0.5

B,x,A,0.25
"C",x,"A",0.5
B,x,B,0.75
A,y,A,0.125
 A , y , B ,0.875
C,y,"C",1
)";

TEST_CASE("A supply table beside the scenario's own rows reads as if inlined", "[scenario][tables]") {
  const TempDir dir("tables-mixed");
  dir.write("mixed.csv", kMixedTable);
  const LoadedScenario loaded = load_scenario(dir.write("mixed.yaml", kMixedScenario));
  const ScenarioSpec& spec = loaded.spec;
  // Countries A, B, C are 0, 1, 2; sectors x, y are 0, 1.
  CHECK(spec.supply[spec.supply_index(2, 0, 2)] == 0.5);
  CHECK(spec.supply[spec.supply_index(2, 0, 0)] == 0.5);
  CHECK(spec.supply[spec.supply_index(0, 1, 1)] == 0.875);
  CHECK(spec.supply[spec.supply_index(1, 0, 1)] == 0.75);
  CHECK(spec.supply[spec.supply_index(0, 0, 0)] == 0.7);
  CHECK(spec.supply[spec.supply_index(1, 1, 0)] == 0.5);  // y: world_supply for B

  // The scenario's buyers first, each with its own rows before the table's, then the table's new
  // buyers; rows in the order the file gives them.
  const std::string resolved = loaded.resolved_yaml(dir.dir());
  const std::string expected_supply =
      "supply:\n"
      "  A:\n"
      "    x:\n"
      "      A: 0.7\n"
      "      B: 0.3\n"
      "    y:\n"
      "      A: 0.125\n"
      "      B: 0.875\n"
      "  B:\n"
      "    x:\n"
      "      A: 0.25\n"
      "      B: 0.75\n"
      "  C:\n"
      "    x:\n"
      "      C: 0.5\n"
      "      A: 0.5\n"
      "    y:\n"
      "      C: 1\n";
  CHECK(resolved.substr(resolved.find("\nsupply:") + 1) == expected_supply);
  const LoadedScenario reloaded = load_scenario_text(resolved, dir.file("resolved.yaml"));
  CHECK(reloaded.spec.supply == spec.supply);
  CHECK(reloaded.resolved_yaml(dir.dir()) == resolved);

  // Paths reach into the table's rows; a rebuilt spec (overrides, sweep points) reads them from
  // the whole document and finds the same numbers.
  CHECK(loaded.number_at("supply.C.x.A").value == 0.5);
  CHECK(loaded.with_overrides({}).supply == spec.supply);
  const ScenarioSpec moved = loaded.with_overrides({{"supply.C.x.A=0.25"}, {"supply.C.x.C=0.75"}});
  CHECK(moved.supply[moved.supply_index(2, 0, 0)] == 0.25);
  CHECK(moved.supply[moved.supply_index(2, 0, 2)] == 0.75);
}

TEST_CASE("A scenario with a sweep takes its supply table into the document", "[scenario][tables]") {
  const TempDir dir("tables-sweep");
  dir.write("mixed.csv", kMixedTable);
  const std::string path = dir.write(
      "mixed.yaml", std::string(kMixedScenario) + "sweep: {grid: {supply.C.y.C: [1, 1.0]}}\n");
  const LoadedScenario loaded = load_scenario(path);
  REQUIRE(loaded.spec.sweep.point_count() == 2);
  CHECK(loaded.point_spec(1).supply == loaded.spec.supply);
  const std::string resolved = loaded.resolved_yaml(dir.dir());
  CHECK(resolved.find("  C:\n    x:\n      C: 0.5\n      A: 0.5\n") != std::string::npos);
}

TEST_CASE("Problems in a supply table are reported at their csv cells in file order",
          "[scenario][tables]") {
  const TempDir dir("tables-bad");
  dir.write("bad.csv", R"(buyer,sector,origin,share
B,x,A,0.25
A,x,B,0.3
B,x,B,0.75
B,x,A,0.5
C,x,D,1
B,y,A,abc
C,y,A,1.5
A,y,A,0.5
A,y,B,0.4
C,z,A,1
B,x,A,0.1
"A""",x,A,1
only,three,fields
)");
  const std::string path = dir.write("bad.yaml", R"(schema_version: 1
name: bad-tables
time: {start: 2021-01, steps: 12}
countries: {A: {talent: 1}, B: {talent: 1}, C: {talent: 1}}
sectors:
  x: {}
  y: {world_supply: {A: 0.5, B: 0.5}}
supply:
  A:
    x: {A: 0.7, B: 0.3}
tables: {supply: bad.csv}
)");
  const std::vector<Diagnostic> errors = load_errors(path);
  // The csv's own problems first, then those of placing rows, then validation's, buyer by buyer
  // as the document lists them.
  const std::vector<std::tuple<int, int, std::string>> expected{
      {14, 1, "csv row: 3 fields, expected 4 (buyer,sector,origin,share)"},
      {3, 1, "supply.A.x: row given both in the scenario and in the csv table"},
      {5, 5, "duplicate key 'A' in supply.B.x (first given at line 2)"},
      {12, 5, "duplicate key 'A' in supply.B.x (first given at line 2)"},
      {9, 3, "supply.A.y: shares sum to 0.9, expected 1 (within 1e-6)"},
      {7, 7, "supply.B.y.A: expected a number, got 'abc'"},
      {6, 5, "supply.C.x.D: unknown country 'D' (did you mean 'A'?)"},
      {8, 7, "supply.C.y.A: 1.5 is out of range, expected [0, 1]"},
      {11, 3, "supply.C.z: unknown sector 'z' (did you mean 'x'?)"},
      {13, 1, "supply.A\": unknown country 'A\"' (did you mean 'A'?)"},
  };
  REQUIRE(errors.size() == expected.size());
  for (std::size_t i = 0; i < errors.size(); ++i) {
    INFO(first_line(errors[i]));
    CHECK(errors[i].where.file == dir.file("bad.csv"));
    CHECK(errors[i].where.line == std::get<0>(expected[i]));
    CHECK(errors[i].where.column == std::get<1>(expected[i]));
    CHECK(errors[i].message == std::get<2>(expected[i]));
  }
}

}  // namespace
}  // namespace techdep::test
