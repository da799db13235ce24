// One small bad file per error kind (tests/scenario_errors/): each must fail with that kind at
// the exact file:line:col, with the documented message.

#include <set>

#include "unit/scenario/scenario_test_support.hpp"

namespace techdep {
namespace {

using test::error_path;
using test::first_line;
using test::load_errors;

struct ErrorCase {
  const char* file;        ///< in tests/scenario_errors/
  const char* kind;
  const char* located_in;  ///< file whose position is reported (often `file`)
  const char* position;    ///< line:col
  const char* message;     ///< the message after `error: `
};

const ErrorCase kCases[] = {
    {"unknown_key.yaml", "unknown-key", "unknown_key.yaml", "16:5",
     "unknown key 'intensty' in events[0] (did you mean 'intensity'?)"},
    {"duplicate_key.yaml", "duplicate-key", "duplicate_key.yaml", "9:3",
     "duplicate key 'x' in sectors (first given at line 8)"},
    {"wrong_type.yaml", "wrong-type", "wrong_type.yaml", "5:15",
     "countries.A.talent: expected a number, got 'many'"},
    {"top_level_list.yaml", "wrong-type", "top_level_list.yaml", "1:1",
     "the top level: expected a map, got a list"},
    {"out_of_range.yaml", "out-of-range", "out_of_range.yaml", "8:19",
     "sectors.x.elasticity: 1 is out of range, expected > 0, != 1"},
    {"missing_key.yaml", "missing-key", "missing_key.yaml", "1:1",
     "the top level: missing required key 'name'"},
    {"missing_source.yaml", "missing-key", "missing_source.yaml", "10:5",
     "events[0]: missing required key 'source'"},
    {"unsupported_schema_version.yaml", "unsupported-schema-version",
     "unsupported_schema_version.yaml", "1:17", "schema_version: 2 is not supported, expected 1"},
    {"unknown_reference.yaml", "unknown-reference", "unknown_reference.yaml", "14:13",
     "events[0].to[1]: unknown country or bloc 'C' (did you mean 'A'?)"},
    {"shares_do_not_sum.yaml", "shares-do-not-sum", "shares_do_not_sum.yaml", "11:8",
     "supply.A.x: shares sum to 0.9, expected 1 (within 1e-6)"},
    {"missing_supply.yaml", "missing-supply", "missing_supply.yaml", "5:3",
     "supply.A.y: no supply row for buyer 'A' in sector 'y', and the sector has no world_supply"},
    {"capability_below_share.yaml", "capability-below-share", "capability_below_share.yaml",
     "13:10",
     "capability.A.x: capability 0.3 is below the initial domestic share 0.5, expected at least "
     "the domestic share"},
    {"inputs_too_large.yaml", "inputs-too-large", "inputs_too_large.yaml", "10:13",
     "sectors.x.inputs: input coefficients sum to 1.1, expected less than 1"},
    {"outside_horizon.yaml", "outside-horizon", "outside_horizon.yaml", "12:9",
     "events[0].at: 2030-01 is outside the horizon (steps 0 to 11, 2021-01 to 2021-12)"},
    {"until_before_at.yaml", "until-before-at", "until_before_at.yaml", "17:12",
     "events[0].until: 2021-02 is before at (2021-03), expected a ramp end at or after the start"},
    {"end_before_at.yaml", "end-before-at", "end_before_at.yaml", "17:10",
     "events[0].end: 2021-03 is not after at (2021-03), expected an end later than the start"},
    {"bad_date.yaml", "bad-date", "bad_date.yaml", "12:9",
     "events[0].at: '2021-13' is not a valid date, expected YYYY-MM, YYYY-MM-DD or a step number"},
    {"unknown_event_type.yaml", "unknown-event-type", "unknown_event_type.yaml", "11:11",
     "events[0].type: unknown event type 'export_contrl' (did you mean 'export_control'?)"},
    {"extends_cycle_a.yaml", "extends-cycle", "extends_cycle_b.yaml", "1:10", nullptr},
    {"missing_file.yaml", "missing-file", "missing_file.yaml", "1:10", nullptr},
    {"unknown_metric.yaml", "unknown-metric", "unknown_metric.yaml", "10:23",
     "outputs.metrics[1]: unknown metric 'shortge' (did you mean 'shortage'?)"},
    {"unknown_fact.yaml", "unknown-fact", "unknown_fact.yaml", "16:13",
     "events[0].source: unknown fact 'TR32' (did you mean 'TR23'?)"},
    {"fact_without_facts_file.yaml", "unknown-fact", "fact_without_facts_file.yaml", "15:13",
     "events[0].source: source 'TR23' names a fact but no facts file is declared (add 'facts:' "
     "or write 'assumption')"},
    {"duplicate_id.yaml", "duplicate-id", "duplicate_id.yaml", "17:10",
     "events[1].id: duplicate event id 'e1' (first used by events[0])"},
    {"bloc_clashes_with_country.yaml", "duplicate-id", "bloc_clashes_with_country.yaml", "10:3",
     "blocs: bloc id 'A' is already a country id"},
    {"unknown_key_in_facts.yaml", "duplicate-id", "bad_facts.yaml", "5:9",
     "facts[1].id: duplicate fact id 'F1' (first used by facts[0])"},
    {"unknown_key_in_facts.yaml", "unknown-key", "bad_facts.yaml", "6:5",
     "unknown key 'claime' in facts[1] (did you mean 'claim'?)"},
    {"yaml_syntax.yaml", "yaml-syntax", "yaml_syntax.yaml", "10:1",
     "yaml syntax: end of sequence flow not found"},
    {"csv_format.yaml", "csv-format", "csv_format_supply.csv", "1:1",
     "csv header: expected 'buyer,sector,origin,share', got 'buyer,sector,share'"},
    {"wrong_type_csv_value.yaml", "wrong-type", "wrong_type_supply.csv", "3:7",
     "supply.A.x.B: expected a number, got 'half'"},
    {"bad_name.yaml", "bad-name", "bad_name.yaml", "2:7",
     "name: 'My World' is not a valid name, expected lowercase letters, digits, '-' and '_' "
     "([a-z0-9][a-z0-9_-]*)"},
    {"unknown_value.yaml", "unknown-value", "unknown_value.yaml", "9:7",
     "mode: unknown value 'agent', expected one of aggregate, agents (did you mean 'agents'?)"},
    {"conflicting_keys.yaml", "conflicting-keys", "conflicting_keys.yaml", "11:72",
     "rules[0].when: give either 'above' or 'below', not both"},
    {"unknown_parameter.yaml", "unknown-parameter", "unknown_parameter.yaml", "10:43",
     "events[0].path: unknown parameter path 'sectors.x.elastcity': no parameter 'elastcity' "
     "(did you mean 'elasticity'?)"},
    {"alias_bomb.yaml", "too-many-aliases", "alias_bomb.yaml", "6:4",
     "aliases: expand to more than 2000000 nodes"},
};

const Diagnostic* find_kind(const std::vector<Diagnostic>& diagnostics, const std::string& kind,
                            const std::string& file) {
  for (const Diagnostic& diagnostic : diagnostics) {
    if (diagnostic.kind == kind && diagnostic.where.file == file) return &diagnostic;
  }
  return nullptr;
}

// Every expected first line (file:line:col: error: message) is among the file's diagnostics.
void check_all_reported(const std::string& name, const std::set<std::string>& expected) {
  const std::vector<Diagnostic> diagnostics = load_errors(error_path(name));
  std::set<std::string> lines;
  for (const Diagnostic& diagnostic : diagnostics) lines.insert(first_line(diagnostic));
  std::set<std::string> missing;
  for (const std::string& line : expected) {
    if (lines.count(line) == 0) missing.insert(line);
  }
  INFO("reported:\n" << [&] {
    std::string all;
    for (const std::string& line : lines) all += line + "\n";
    return all;
  }());
  CHECK(missing.empty());
}

TEST_CASE("every error kind has a fixture with an exact location", "[scenario]") {
  for (const ErrorCase& error_case : kCases) {
    SECTION(std::string(error_case.file) + " " + error_case.kind) {
      const std::vector<Diagnostic> diagnostics = load_errors(error_path(error_case.file));
      const Diagnostic* found =
          find_kind(diagnostics, error_case.kind, error_path(error_case.located_in));
      REQUIRE(found != nullptr);
      const std::string prefix =
          error_path(error_case.located_in) + ":" + error_case.position + ": error: ";
      if (error_case.message != nullptr) {
        CHECK(first_line(*found) == prefix + error_case.message);
      } else {
        CHECK(first_line(*found).rfind(prefix, 0) == 0);
      }
      // yaml-cpp reports an unclosed flow at the end of the file, past the last line
      if (std::string(error_case.kind) != "yaml-syntax") CHECK_FALSE(found->source_line.empty());
    }
  }
}

TEST_CASE("the fixtures cover at least 25 distinct error kinds", "[scenario]") {
  std::set<std::string> kinds;
  for (const ErrorCase& error_case : kCases) kinds.insert(error_case.kind);
  kinds.insert({"empty-file", "bad-encoding", "binary-content", "nesting-too-deep",
                "file-too-large", "unknown-path", "bad-override"});  // test_hostile_input.cpp
  CHECK(kinds.size() >= 32);
}

TEST_CASE("an extends cycle names the chain", "[scenario]") {
  const std::vector<Diagnostic> diagnostics = load_errors(error_path("extends_cycle_a.yaml"));
  const Diagnostic* cycle =
      find_kind(diagnostics, "extends-cycle", error_path("extends_cycle_b.yaml"));
  REQUIRE(cycle != nullptr);
  CHECK(cycle->message == "extends: cycle " + error_path("extends_cycle_a.yaml") + " -> " +
                              error_path("extends_cycle_b.yaml") + " -> " +
                              error_path("extends_cycle_a.yaml"));
  CHECK(cycle->key_path == "extends");
}

TEST_CASE("a missing extends file is reported where it is named", "[scenario]") {
  const std::vector<Diagnostic> diagnostics = load_errors(error_path("missing_file.yaml"));
  const Diagnostic* missing = find_kind(diagnostics, "missing-file", error_path("missing_file.yaml"));
  REQUIRE(missing != nullptr);
  CHECK(missing->message ==
        "extends: cannot read '" + error_path("no_such_base.yaml") + "': no such file");
}

TEST_CASE("diagnostics carry key path, caret line and all problems at once", "[scenario]") {
  const std::vector<Diagnostic> diagnostics = load_errors(error_path("unknown_reference.yaml"));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].key_path == "events[0].to[1]");
  CHECK(diagnostics[0].source_line == "    to: [B, C]");
  CHECK(format_diagnostic(diagnostics[0]) ==
        error_path("unknown_reference.yaml") +
            ":14:13: error: events[0].to[1]: unknown country or bloc 'C' (did you mean 'A'?)\n"
            "    14 |     to: [B, C]\n"
            "       |             ^");

  // Two independent problems in one file are both reported.
  const std::vector<Diagnostic> both = load_errors(error_path("unknown_key.yaml"));
  std::set<std::string> kinds;
  for (const Diagnostic& diagnostic : both) kinds.insert(diagnostic.kind);
  CHECK(kinds == std::set<std::string>{"unknown-key", "missing-key"});
}

TEST_CASE("mistakes in production sites, shipping, routes and scopes are all reported at once, "
          "each where it is",
          "[scenario]") {
  const std::string file = error_path("trade_structure.yaml");
  const std::set<std::string> expected{
      file + ":12:8: error: production_sites.x.B: shares sum to 0.9, expected 1 (within 1e-6)",
      file + ":13:5: error: production_sites.x.Q: unknown country 'Q' (did you mean 'A'?)",
      file + ":17:10: error: shipping.A.x.B: the buyer 'A' cannot ship to itself, expected a "
             "share of 0 for it",
      file + ":18:7: error: shipping.A.x.Z: unknown country 'Z' (did you mean 'A'?)",
      file + ":19:22: error: routes.dispersion: 0 is out of range, expected > 0",
      file + ":19:40: error: routes.broker_growth: 2 is out of range, expected [0, 1]",
      file + ":27:17: error: events[0].applies_to: unknown value 'brands', expected one of "
             "all, brand, territory (did you mean 'brand'?)",
      file + ":28:27: error: events[0].site_enforcement.H: 1.5 is out of range, expected [0, 1]",
  };
  check_all_reported("trade_structure.yaml", expected);
}

TEST_CASE("mistakes in the keys of responsive talent are all reported, each where it is",
          "[scenario]") {
  const std::string file = error_path("talent_responds.yaml");
  const std::set<std::string> expected{
      file + ":5:30: error: countries.A.host_push: 1.5 is out of range, expected [0, 1]",
      file + ":5:49: error: countries.A.remote_share: -0.1 is out of range, expected [0, 1]",
      file + ":5:70: error: countries.A.remote_weight: 2 is out of range, expected [0, 1]",
      file + ":5:91: error: countries.A.remote_attrition: 3 is out of range, expected [0, 1]",
      file + ":10:92: error: events[0].return_suppression: 1.2 is out of range, expected [0, 1]",
      file + ":11:55: error: events[1].hosts[0]: unknown country or bloc 'C' (did you mean "
             "'A'?)",
      file + ":12:5: error: events[2]: missing required key 'rate'",
      file + ":13:69: error: events[3].level: 2 is out of range, expected [0, 1]",
      file + ":14:5: error: events[4]: missing required key 'hosts'",
      file + ":15:61: error: events[5].level: -1 is out of range, expected [0, 1]",
      file + ":16:55: error: unknown key 'levl' in events[6] (did you mean 'level'?)",
  };
  check_all_reported("talent_responds.yaml", expected);
}

TEST_CASE("mistakes in demand segments are all reported, each where it is", "[scenario]") {
  const std::string file = error_path("segments.yaml");
  const std::set<std::string> expected{
      file + ":11:23: error: segments.state.elasticity: 0 is out of range, expected > 0",
      file + ":11:40: error: segments.state.served_first: expected true or false, got 'maybe'",
      file + ":12:33: error: unknown key 'adjustmnt' in segments.defence (did you mean "
             "'adjustment'?)",
      file + ":16:8: error: demand_segments.A.x: segment shares sum to 0.9, expected 1 (within "
             "1e-6)",
      file + ":17:21: error: demand_segments.A.y.army: unknown segment 'army'",
      file + ":21:16: error: segment_domestic_share.A.y.state: 1.5 is out of range, expected "
             "[0, 1]",
      file + ":23:63: error: events[0].segments[1]: unknown segment 'cii'",
  };
  check_all_reported("segments.yaml", expected);
}

TEST_CASE("a segment's start that leaves the others no domestic share is refused",
          "[scenario]") {
  // The state (0.2 of demand) buying 0.9 at home would need 0.18 of the cell's 0.5 domestic
  // supply: fine. A state share of 1 with a domestic share of 0.1 is not.
  const std::vector<Diagnostic> diagnostics = load_errors(error_path("segment_start.yaml"));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].kind == "shares-do-not-sum");
  CHECK(format_diagnostic(diagnostics[0]).find(
            "segment_start.yaml:17:8: error: segment_domestic_share.A.x: the segments' domestic "
            "shares weighted by their demand give 0.5 and leave -0.8 for the others, expected "
            "the cell's domestic share 0.1") != std::string::npos);
}

TEST_CASE("an observation of a demand segment must name one the cell has", "[scenario]") {
  const std::string file = error_path("segment_observations.yaml");
  const std::set<std::string> expected{
      file + ":16:69: error: observations[1].segment: metric 'price_index' is not written per "
             "segment, expected one of domestic_share, import_share, shortage, supplier_share, "
             "compliance_gap",
      file + ":17:72: error: observations[2].segment: unknown segment 'army'",
      file + ":18:72: error: observations[3].segment: 'state' is not a demand segment of A's y "
             "(demand_segments)",
  };
  check_all_reported("segment_observations.yaml", expected);
}

TEST_CASE("agent mode needs a firm for each demand segment of a cell", "[scenario]") {
  check_all_reported(
      "segment_firms.yaml",
      {error_path("segment_firms.yaml") +
       ":16:3: error: demand_segments: agents.firms_per_cell is 2, too few for 3 demand segments "
       "(each segment of a cell has its own firms), expected at least 3"});
  CHECK(load_errors(error_path("segment_firms.yaml")).at(0).kind == "conflicting-keys");
}

TEST_CASE("an unknown event type does not also demand every type's keys", "[scenario]") {
  const std::vector<Diagnostic> diagnostics = load_errors(error_path("unknown_event_type.yaml"));
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].kind == "unknown-event-type");
}

}  // namespace
}  // namespace techdep
