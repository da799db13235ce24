#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "integration/cli_runner.hpp"
#include "report/run_reader.hpp"
#include "report/web_assets.hpp"
#include "techdep/app/run.hpp"
#include "techdep/core/error.hpp"
#include "techdep/report/charts.hpp"
#include "techdep/report/report.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;
using techdep::test::read_text;
using techdep::test::TempDir;

namespace {

const std::string kTiny = "tests/data/cli/tiny.yaml";
const std::string kTinyWeaker = "tests/data/cli/tiny-weaker.yaml";

fs::path run_into(const std::string& scenario, const fs::path& out) {
  techdep::RunRequest request;
  request.scenario_path = scenario;
  request.out_dir = out;
  return techdep::run_scenario(request).run_dir;
}

Json embedded_data(const std::string& html) {
  const std::string open = R"(<script id="techdep-data" type="application/json">)";
  const std::size_t start = html.find(open);
  REQUIRE(start != std::string::npos);
  const std::size_t end = html.find("</script>", start);
  return Json::parse(html.substr(start + open.size(), end - start - open.size()));
}

const Json& chart(const Json& data, const std::string& id) {
  for (const Json& entry : data["charts"]) {
    if (entry["id"] == id) return entry;
  }
  FAIL("no chart " << id);
  throw std::logic_error("unreachable");
}

const Json& line(const Json& chart_json, const std::string& label) {
  for (const Json& entry : chart_json["lines"]) {
    if (entry["label"] == label) return entry;
  }
  FAIL("no line " << label);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("report: one offline file whose charts hold the run's values", "[report]") {
  TempDir temp;
  const fs::path run_dir = run_into(kTiny, temp.path() / "run");
  techdep::ReportRequest request;
  request.run_dir = run_dir;
  const techdep::ReportOutcome outcome = techdep::write_report(request);
  REQUIRE(outcome.file == run_dir / "report.html");
  const std::string html = read_text(outcome.file);
  CHECK(html.size() == outcome.bytes);
  // Self-contained: uPlot inline, no URL the browser would fetch, no marker left behind.
  CHECK_THAT(html, Catch::Contains(std::string(techdep::web_asset("uPlot.iife.min.js")->substr(0, 200))));
  CHECK_THAT(html, !Catch::Contains("<script src") && !Catch::Contains("<link ") &&
                       !Catch::Contains("<!--ASSET:") && !Catch::Contains("<!--DATA-->"));

  const Json data = embedded_data(html);
  const techdep::RecordedRun recorded = techdep::read_recorded_run(run_dir);
  REQUIRE(data["steps"].size() == 25);
  CHECK(data["dates"][6] == "2021-07");
  const Json& domestic = line(chart(data, "domestic_share.EST"), "chips");
  for (std::size_t point = 0; point < 25; ++point) {
    CHECK(domestic["values"][point].get<double>() ==
          recorded.value("domestic_share.EST.chips", point));
  }
  // Total dependency by bloc sums the bloc's members: WST is the bloc `west`.
  const Json& west = line(chart(data, "total_dependency_by_bloc.EST.chips"), "west");
  CHECK(west["values"][24].get<double>() == recorded.value("total_dependency.EST.chips.WST", 24));
  // Lines that never leave 0 are not drawn.
  for (const Json& entry : data["charts"]) {
    for (const Json& drawn : entry["lines"]) {
      bool moves = false;
      for (const Json& value : drawn["values"]) moves = moves || (value.is_number() && value != 0.0);
      CHECK(moves);
    }
  }
  CHECK(data["events"][0]["id"] == "chip-controls");
  // Issue 15.10: the events table reads in date order, rule firings among the events.
  for (std::size_t index = 1; index < data["events"].size(); ++index) {
    CHECK(data["events"][index - 1]["step"].get<int>() <= data["events"][index]["step"].get<int>());
  }
  CHECK(data["events"][0]["step"] == 6);

  // Provenance footer fields come from the manifest.
  const Json manifest = Json::parse(read_text(run_dir / "manifest.json"));
  CHECK(data["provenance"]["scenario_sha256"] == manifest["resolved_scenario_sha256"]);
  CHECK(data["provenance"]["git_commit"] == manifest["git_commit"]);
  CHECK(data["provenance"]["seed"] == "7");

  // The wedge chart: exact Shapley values add up to the change (efficiency), and the value with
  // every event is the run's own last sovereignty.
  const Json& attribution = data["attribution"];
  REQUIRE(attribution.is_object());
  CHECK(attribution["method"] == "exact Shapley");
  double sum = 0.0;
  for (const Json& contribution : attribution["contributions"]) sum += contribution["shapley"].get<double>();
  CHECK(sum == Approx(attribution["with_events"].get<double>() -
                      attribution["without_events"].get<double>()).margin(1e-12));
  CHECK(attribution["with_events"].get<double>() ==
        Approx(recorded.value("sovereignty.EST", 24)).margin(1e-15));

  // The narrative names the largest move with its numbers and its drivers.
  REQUIRE(outcome.narrative.size() >= 2);
  CHECK_THAT(outcome.narrative[0], Catch::StartsWith("tiny runs from 2021-01 to 2023-01 (24 steps)"));
  CHECK_THAT(outcome.narrative[1], Catch::Contains("the events account for"));
  CHECK(data["narrative"] == Json(outcome.narrative));
}

// Issue 15.4: a replicate run's report quoted replicate 0, attributed the scenario as written and
// charted the mean. Now the story says so, and each narrated move's end value is the value with
// every event that its drivers share out: end = without + (sum of the events' part).
TEST_CASE("report: a replicate run's story and drivers describe one run", "[report]") {
  TempDir temp;
  const fs::path scenario = temp.path() / "tiny-replicated.yaml";
  fs::copy_file("tests/data/cli/facts.yaml", temp.path() / "facts.yaml");
  std::ofstream(scenario) << fmt::format(
      "extends: {}\nname: tiny-replicated\nreplicates: 3\nuncertain:\n"
      "  - {{path: \"events[chip-controls].intensity\", distribution: uniform, min: 0.2, max: 0.5, "
      "source: assumption}}\n"
      // Appended by `extends`, so listed after later events: the report must sort them.
      "events:\n  - {{id: early-programme, type: investment, country: EST, sectors: [software], "
      "at: 2021-03, intensity: 0.1, source: assumption}}\n",
      fs::absolute(kTiny).string());
  techdep::RunRequest run;
  run.scenario_path = scenario.string();
  run.out_dir = temp.path() / "run";
  const fs::path run_dir = techdep::run_scenario(run).run_dir;
  techdep::ReportRequest request;
  request.run_dir = run_dir;
  const techdep::ReportOutcome outcome = techdep::write_report(request);
  REQUIRE(outcome.narrative.size() >= 3);
  CHECK_THAT(outcome.narrative[1], Catch::Contains("This run has 3 replicates"));
  // Issue 15.10: the events read in date order whatever the file's order.
  const Json data = embedded_data(read_text(outcome.file));
  std::vector<std::string> ids;
  for (const Json& event : data["events"]) ids.push_back(event["id"]);
  CHECK(ids == std::vector<std::string>{"early-programme", "chip-controls", "chip-programme"});
  const std::regex sentence(R"(from (-?[0-9.]+) to (-?[0-9.]+),.*would end at (-?[0-9.]+); the events account for the ([-+][0-9.]+))");
  int checked = 0;
  for (const std::string& text : outcome.narrative) {
    std::smatch match;
    if (!std::regex_search(text, match, sentence)) continue;
    const double end = std::stod(match[2]), without = std::stod(match[3]), part = std::stod(match[4]);
    CHECK(end == Approx(without + part).margin(0.0021));
    ++checked;
  }
  CHECK(checked >= 1);
}

TEST_CASE("report: the baseline in grey and bands from summary.csv", "[report]") {
  TempDir temp;
  const fs::path run_dir = run_into(kTiny, temp.path() / "run");
  const fs::path baseline_dir = run_into(kTinyWeaker, temp.path() / "weaker");
  {
    std::ofstream summary(run_dir / "summary.csv");
    summary << "scenario,point,step,date,country,sector,partner,metric,n,mean,sd,p05,p25,p50,p75,p95,min,max\n";
    for (int step = 0; step <= 24; ++step) {
      summary << "tiny,0," << step << ",x,EST,chips,,domestic_share,3," << 0.5 << ",0.1,"
              << 0.1 + step * 0.001 << ",0.3,0.5,0.7,0.9,0,1\n";
    }
  }
  techdep::ReportRequest request;
  request.run_dir = run_dir;
  request.baseline_dir = baseline_dir;
  request.attribution_samples = 0;  // attribution is tested above
  request.out_file = temp.path() / "compare.html";
  const techdep::ReportOutcome outcome = techdep::write_report(request);
  CHECK(outcome.bands);
  CHECK(outcome.baseline);
  const Json data = embedded_data(read_text(temp.path() / "compare.html"));
  CHECK(data["attribution"].is_null());
  const techdep::RecordedRun weaker = techdep::read_recorded_run(baseline_dir);
  const Json& chips = line(chart(data, "domestic_share.EST"), "chips");
  CHECK(chips["baseline"][24].get<double>() == weaker.value("domestic_share.EST.chips", 24));
  CHECK(chips["band"]["low"][10].get<double>() == Approx(0.11).margin(1e-15));
  CHECK(chips["band"]["high"][10].get<double>() == 0.9);
  CHECK(chips["band"]["inner_low"][3].get<double>() == 0.3);
  CHECK(chips["centre"][3].get<double>() == 0.5);
  // A series summary.csv does not cover gets no band.
  CHECK_FALSE(line(chart(data, "domestic_share.EST"), "software").contains("band"));
}

TEST_CASE("report: clear errors for a folder that is not a complete run", "[report]") {
  TempDir temp;
  techdep::ReportRequest request;
  request.run_dir = temp.path();
  CHECK_THROWS_AS(techdep::write_report(request), techdep::UsageError);
  const fs::path run_dir = run_into(kTiny, temp.path() / "run");
  fs::remove(run_dir / "timeseries.csv");
  request.run_dir = run_dir;
  CHECK_THROWS_WITH(techdep::write_report(request), Catch::Contains("no timeseries.csv"));
}

// Issue 15.5: residue such as 1.1e-16 is not a move: a line of nothing else is dropped, and
// charts show it as 0.
TEST_CASE("report: floating-point residue is flat", "[report]") {
  techdep::ChartPlan chart;
  chart.id = "noise";
  chart.lines.push_back({"noise", {techdep::SeriesKey{}}});
  chart.lines.push_back({"real", {techdep::SeriesKey{}}});
  std::vector<techdep::ChartPlan> charts{chart};
  std::size_t calls = 0;
  techdep::drop_flat_lines(charts, 3, [&](const techdep::SeriesKey&, std::size_t point) {
    // Lines are looked up one after the other: the first three values are the noisy line's.
    return calls++ < 3 ? (point == 1 ? 1.1e-16 : 0.0) : 0.25;
  });
  REQUIRE(charts.size() == 1);
  REQUIRE(charts[0].lines.size() == 1);
  CHECK(charts[0].lines[0].label == "real");
  CHECK(techdep::without_noise(-2e-12) == 0.0);
  CHECK(techdep::without_noise(1e-6) == 1e-6);
}

TEST_CASE("report: RFC 4180 reader keeps quoted commas, quotes and line breaks", "[report]") {
  const auto rows = techdep::parse_csv("a,b\n\"x,1\",\"say \"\"hi\"\"\"\n\"two\nlines\",\r\n", "t.csv");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1] == std::vector<std::string>{"x,1", "say \"hi\""});
  CHECK(rows[2] == std::vector<std::string>{"two\nlines", ""});
  CHECK_THROWS_WITH(techdep::parse_csv("a\n\"open\n", "t.csv"),
                    Catch::Contains("t.csv:2: unterminated quoted field"));
}

TEST_CASE("report: embedded data can never close its script element", "[report]") {
  CHECK(techdep::json_for_script(R"({"d":"</script><b>"})") ==
        R"({"d":"\u003c/script>\u003cb>"})");
}

TEST_CASE("report: lock-in shows as the installed base and the distrust it keeps", "[report]") {
  TempDir temp;
  const fs::path run_dir = run_into("tests/data/cli/lock-in.yaml", temp.path() / "run");
  techdep::ReportRequest request;
  request.run_dir = run_dir;
  const Json data = embedded_data(read_text(techdep::write_report(request).file));
  const techdep::RecordedRun recorded = techdep::read_recorded_run(run_dir);
  const Json& base = line(chart(data, "installed_base.EST.os"), "WST");
  CHECK(base["values"][60].get<double>() == recorded.value("installed_base.EST.os.WST", 60));
  CHECK(base["values"][60].get<double>() < 0.7);  // the base moved home while WST was away
  const Json& distrust = line(chart(data, "distrust.EST"), "WST");
  CHECK(distrust["values"][60].get<double>() > 0.0);
  // The tiny world switches lock-in off: no such charts.
  const fs::path tiny_dir = run_into(kTiny, temp.path() / "tiny");
  request.run_dir = tiny_dir;
  const Json tiny = embedded_data(read_text(techdep::write_report(request).file));
  for (const Json& entry : tiny["charts"]) {
    CHECK_THAT(entry["id"].get<std::string>(),
               !Catch::StartsWith("installed_base") && !Catch::StartsWith("distrust"));
  }
}
