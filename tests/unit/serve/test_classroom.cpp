#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "integration/cli_runner.hpp"
#include "techdep/app/compare.hpp"
#include "techdep/core/error.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/serve/classroom.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;
using techdep::HttpReply;
using techdep::test::TempDir;

namespace {

const std::string kTiny = "tests/data/cli/tiny.yaml";

techdep::LoadOptions with_override(const std::string& text) {
  techdep::LoadOptions options;
  options.overrides.push_back(techdep::Override{text});
  return options;
}

techdep::Classroom make_classroom(std::size_t max_sessions = 64) {
  techdep::ClassroomOptions options;
  options.scenario_files = {kTiny};
  options.max_sessions = max_sessions;
  return techdep::Classroom(options);
}

Json body_of(const HttpReply& reply) { return Json::parse(reply.body); }

// A streamed reply's body, gathered as the server would send it.
std::string full_body(const HttpReply& reply) {
  if (!reply.stream) return reply.body;
  std::string body;
  reply.stream([&](std::string_view piece) {
    body += piece;
    return true;
  });
  return body;
}

std::string start(techdep::Classroom& classroom, const Json& settings = Json::object()) {
  const HttpReply reply =
      classroom.handle("POST", "/api/sessions", Json{{"scenario", "tiny"}, {"settings", settings}}.dump());
  REQUIRE(reply.status == 201);
  return body_of(reply)["session"];
}

}  // namespace

TEST_CASE("serve: the page and the scenario's sliders with catalogue bounds", "[serve]") {
  techdep::Classroom classroom = make_classroom();
  const HttpReply page = classroom.handle("GET", "/", "");
  CHECK(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK_THAT(page.body, Catch::Contains("uPlot") && Catch::Contains(R"({"scenarios":["tiny"]})"));

  const Json scenario = body_of(classroom.handle("GET", "/api/scenarios/tiny", ""));
  CHECK(scenario["steps"].size() == 25);
  std::vector<std::string> paths;
  for (const Json& slider : scenario["sliders"]) paths.push_back(slider["path"]);
  CHECK(paths == std::vector<std::string>{"events[chip-controls].intensity",
                                          "events[chip-controls].evasion",
                                          "events[chip-programme].intensity", "reroute_markup",
                                          "sectors.chips.adjustment", "sectors.software.adjustment"});
  CHECK(scenario["sliders"][0]["min"] == 0.0);
  CHECK(scenario["sliders"][0]["max"] == 1.0);
  CHECK(scenario["sliders"][0]["value"] == 0.8);
  // reroute_markup is `>= 0`: the page offers up to max(1, twice the value).
  CHECK(scenario["sliders"][3]["max"] == 1.0);
  CHECK(classroom.handle("GET", "/api/scenarios/nope", "").status == 404);
}

TEST_CASE("serve: bad requests get 400 with the reason, big ones 413", "[serve]") {
  techdep::Classroom classroom = make_classroom();
  const auto post = [&](const std::string& body) { return classroom.handle("POST", "/api/sessions", body); };

  HttpReply reply = post("{not json");
  CHECK(reply.status == 400);
  CHECK(body_of(reply)["error"] == "request body: not a JSON object");
  CHECK(post("[1,2]").status == 400);
  CHECK(post(R"({"scenario":"nope"})").status == 400);
  CHECK(post(R"({"scenario":"tiny","extra":1})").status == 400);

  reply = post(R"({"scenario":"tiny","settings":{"events[chip-controls].colour":0.5}})");
  CHECK(reply.status == 400);
  CHECK_THAT(body_of(reply)["error"].get<std::string>(),
             Catch::Contains("'events[chip-controls].colour' is not a parameter"));
  reply = post(R"({"scenario":"tiny","settings":{"events[chip-controls].intensity":"high"}})");
  CHECK(reply.status == 400);
  CHECK_THAT(body_of(reply)["error"].get<std::string>(), Catch::Contains("must be a finite number"));

  // Out of range: the loader's own message, the same a scenario file would get.
  reply = post(R"({"scenario":"tiny","settings":{"events[chip-controls].intensity":1.5}})");
  CHECK(reply.status == 400);
  std::string loader_message;
  try {
    techdep::load_scenario(kTiny, with_override("events[chip-controls].intensity=1.5"));
  } catch (const techdep::ScenarioError& error) {
    loader_message = error.what();
  }
  REQUIRE_FALSE(loader_message.empty());
  CHECK(body_of(reply)["error"] == loader_message);
  CHECK_THAT(loader_message, Catch::Contains("intensity"));

  const std::string big(classroom.options().max_body_bytes + 1, ' ');
  CHECK(post(big).status == 413);
  CHECK(classroom.handle("PUT", "/api/sessions", "").status == 405);
  CHECK(classroom.handle("PATCH", "/", "").status == 405);
  CHECK(classroom.handle("GET", "/api/sessions/0123/step", "").status == 404);
  CHECK(classroom.handle("GET", "/etc/passwd", "").status == 404);
  CHECK(classroom.session_count() == 0);
}

TEST_CASE("serve: a session steps to the end with the values of a plain run", "[serve]") {
  techdep::Classroom classroom = make_classroom();
  const std::string id = start(classroom, {{"events[chip-controls].intensity", 0.5}});
  const Json scenario = body_of(classroom.handle("GET", "/api/scenarios/tiny", ""));

  std::vector<Json> points;
  HttpReply reply = classroom.handle("POST", "/api/sessions/" + id + "/step", "");
  REQUIRE(reply.status == 200);
  CHECK(body_of(reply)["step"] == 1);
  reply = classroom.handle("POST", "/api/sessions/" + id + "/step", R"({"steps":100})");
  CHECK(reply.status == 400);
  reply = classroom.handle("POST", "/api/sessions/" + id + "/step", R"({"steps":23})");
  REQUIRE(reply.status == 200);
  Json last = body_of(reply);
  CHECK(last["step"] == 24);
  CHECK(last["finished"] == true);
  CHECK(last["points"].size() == 23);

  // The chart values equal a direct simulation of the scenario with the same override.
  const techdep::ScenarioSpec spec =
      techdep::load_scenario(kTiny, with_override("events[chip-controls].intensity=0.5")).spec;
  techdep::Simulation simulation(spec);
  while (!simulation.finished()) simulation.step();
  std::size_t chart_index = 0;
  while (scenario["charts"][chart_index]["id"] != "domestic_share.EST") ++chart_index;
  std::size_t line_index = 0;
  while (scenario["charts"][chart_index]["lines"][line_index]["label"] != "chips") ++line_index;
  const double final_value = last["points"].back()["values"][chart_index][line_index];
  CHECK(final_value == simulation.metrics().value(techdep::Metric::DomesticShare, 0, 0, -1));
  // The baseline differs: the scenario as written has intensity 0.8.
  CHECK(scenario["charts"][chart_index]["lines"][line_index]["baseline"][24] != final_value);

  const HttpReply csv = classroom.handle("GET", "/api/sessions/" + id + "/timeseries.csv", "");
  CHECK(csv.status == 200);
  CHECK(csv.download_name == "tiny-step24.csv");
  const std::string csv_text = full_body(csv);
  CHECK_THAT(csv_text, Catch::StartsWith("scenario,point,replicate,step,date,country,sector,partner,segment,metric,value\n"));
  CHECK_THAT(csv_text, Catch::Contains(fmt::format("tiny,0,0,24,2023-01,EST,chips,,,domestic_share,{}\n", final_value)));

  // The YAML reproduces the settings: loaded back (beside the original, as its header says), it
  // gives the same spec values.
  const HttpReply yaml = classroom.handle("GET", "/api/sessions/" + id + "/scenario.yaml", "");
  CHECK(yaml.status == 200);
  CHECK_THAT(yaml.body, Catch::Contains("#   --set events[chip-controls].intensity=0.5"));
  TempDir temp;
  fs::copy_file("tests/data/cli/facts.yaml", temp.path() / "facts.yaml");
  const fs::path saved = temp.path() / "student.yaml";
  std::ofstream(saved) << yaml.body;
  const techdep::ScenarioSpec reloaded = techdep::load_scenario(saved.string()).spec;
  CHECK(reloaded.events[0].intensity == 0.5);
  CHECK(techdep::simulate_series(reloaded).values == techdep::simulate_series(spec).values);

  // Issue 15.7: the saved YAML has a name of its own, so serve offers it beside the original.
  CHECK(reloaded.name != "tiny");
  CHECK_THAT(reloaded.name, Catch::StartsWith("tiny-variant-"));
  fs::copy_file(kTiny, temp.path() / "tiny.yaml");
  techdep::ClassroomOptions both;
  both.scenario_files = {(temp.path() / "tiny.yaml").string(), saved.string()};
  CHECK_NOTHROW(techdep::Classroom(both));

  // A downloaded YAML uploads into the page and runs; files beyond it may not be reached.
  const HttpReply uploaded = classroom.handle("POST", "/api/scenarios", yaml.body);
  REQUIRE(uploaded.status == 201);
  CHECK(body_of(uploaded)["name"] == reloaded.name);
  CHECK(classroom.handle("POST", "/api/scenarios", yaml.body).status == 409);
  const HttpReply variant = classroom.handle(
      "POST", "/api/sessions", Json{{"scenario", reloaded.name}}.dump());
  REQUIRE(variant.status == 201);
  const Json variant_end = body_of(classroom.handle(
      "POST", "/api/sessions/" + body_of(variant)["session"].get<std::string>() + "/step", R"({"steps":24})"));
  CHECK(variant_end["points"].back()["values"][chart_index][line_index] == final_value);
  CHECK(classroom.handle("POST", "/api/scenarios", "extends: /etc/passwd\n").status == 400);
  CHECK(classroom.handle("POST", "/api/scenarios", "name: x\nfacts: /etc/hostname\n").status == 400);

  // Issue 15.9: a reloaded page gets the run back (settings and every point so far).
  const Json restored = body_of(classroom.handle("GET", "/api/sessions/" + id, ""));
  CHECK(restored["settings"]["events[chip-controls].intensity"] == 0.5);
  CHECK(restored["step"] == 24);
  REQUIRE(restored["points"].size() == 25);
  CHECK(restored["points"][24]["values"][chart_index][line_index] == final_value);
}

TEST_CASE("serve: a new Setup replaces the page's old session; DELETE ends one", "[serve]") {
  techdep::Classroom classroom = make_classroom();
  const std::string first = start(classroom);
  const HttpReply second = classroom.handle(
      "POST", "/api/sessions", Json{{"scenario", "tiny"}, {"replaces", first}}.dump());
  REQUIRE(second.status == 201);
  CHECK(classroom.session_count() == 1);
  CHECK(classroom.handle("GET", "/api/sessions/" + first, "").status == 404);
  const std::string id = body_of(second)["session"];
  CHECK(classroom.handle("DELETE", "/api/sessions/" + id, "").status == 200);
  CHECK(classroom.session_count() == 0);
}

// Issue 15.2: every slider's two ends are values the loader accepts (an open end such as
// `(0, 1]` starts one step in), in a small world and in the teaching world.
TEST_CASE("serve: both ends of every slider are accepted", "[serve]") {
  for (const std::string& file : {kTiny, std::string("scenarios/teaching-world.yaml"),
                                  std::string("tests/data/cli/lock-in.yaml"),
                                  std::string("tests/data/cli/segments.yaml")}) {
    const techdep::LoadedScenario loaded = techdep::load_scenario(file);
    for (const techdep::Slider& slider : techdep::scenario_sliders(loaded.spec)) {
      INFO(file << ": " << slider.path << " in [" << slider.min << ", " << slider.max << "]");
      CHECK(slider.min <= slider.value);
      CHECK(slider.value <= slider.max);
      for (const double end : {slider.min, slider.max}) {
        CHECK_NOTHROW(loaded.with_overrides({{fmt::format("{}={}", slider.path, end)}}));
      }
      // Issue 15.10: a plain name and a group, not the --set path.
      CHECK_FALSE(slider.label.empty());
      CHECK(slider.label.find('[') == std::string::npos);
      CHECK_FALSE(slider.group.empty());
    }
  }
}

// Issue 13.7: the lock-in levers a scenario switches on are on the page, the others are not.
TEST_CASE("serve: lock-in sliders only for the mechanisms a scenario switches on", "[serve]") {
  const auto paths = [](const std::string& file) {
    std::vector<std::string> found;
    for (const techdep::Slider& slider :
         techdep::scenario_sliders(techdep::load_scenario(file).spec)) {
      found.push_back(slider.path);
    }
    return found;
  };
  const std::vector<std::string> lock_in = paths("tests/data/cli/lock-in.yaml");
  for (const char* path : {"sectors.os.switching_cost", "sectors.os.network_effect",
                           "sectors.os.reentry_speed", "countries.EST.distrust_build"}) {
    INFO(path);
    CHECK(std::find(lock_in.begin(), lock_in.end(), path) != lock_in.end());
  }
  for (const std::string& path : paths(kTiny)) {
    CHECK(path.find("switching_cost") == std::string::npos);
    CHECK(path.find("distrust_build") == std::string::npos);
  }
}

// Issue 13.7: who buys on the page: each segment's levers, and a chart whose lines are the
// segments' own values, not the whole's repeated.
TEST_CASE("serve: demand segments have their levers and their own chart lines", "[serve]") {
  const std::string file = "tests/data/cli/segments.yaml";
  techdep::ClassroomOptions options;
  options.scenario_files = {file};
  techdep::Classroom classroom(options);
  const Json scenario = body_of(classroom.handle("GET", "/api/scenarios/tiny-segments", ""));
  std::vector<std::string> paths;
  for (const Json& slider : scenario["sliders"]) {
    if (slider["group"] == "Who buys: demand segments") paths.push_back(slider["path"]);
  }
  for (const char* path : {"segments.state.elasticity", "segments.state.security_sensitivity",
                           "segments.firms.adjustment"}) {
    INFO(path);
    CHECK(std::find(paths.begin(), paths.end(), path) != paths.end());
  }
  CHECK(scenario_sliders(techdep::load_scenario(kTiny).spec).size() == 6);  // no segments there

  const HttpReply reply = classroom.handle(
      "POST", "/api/sessions", Json{{"scenario", "tiny-segments"}}.dump());
  REQUIRE(reply.status == 201);
  const std::string id = body_of(reply)["session"];
  const Json last =
      body_of(classroom.handle("POST", "/api/sessions/" + id + "/step", R"({"steps":24})"));
  techdep::Simulation simulation(techdep::load_scenario(file).spec);
  while (!simulation.finished()) simulation.step();
  bool found = false;
  for (std::size_t c = 0; c < scenario["charts"].size(); ++c) {
    const Json& chart = scenario["charts"][c];
    if (chart["id"] != "domestic_share.EST.chips.segments") continue;
    found = true;
    const Json& values = last["points"].back()["values"][c];
    REQUIRE(chart["lines"].size() == 3);
    CHECK(chart["lines"][0]["label"] == "whole demand");
    CHECK(chart["lines"][1]["label"] == "state bodies");
    for (int line = 0; line < 3; ++line) {
      CHECK(values[static_cast<std::size_t>(line)].get<double>() ==
            Approx(simulation.metrics().value(techdep::Metric::DomesticShare, 0, 0, -1, line - 1))
                .margin(1e-12));
    }
    CHECK(values[1].get<double>() > values[0].get<double>() + 0.01);  // the decree binds the state
  }
  CHECK(found);
}

// Issue 15.1: an untouched Setup is the scenario as written, value for value, and its YAML
// lists no --set.
TEST_CASE("serve: a run with no settings is the baseline exactly", "[serve]") {
  techdep::Classroom classroom = make_classroom();
  const Json scenario = body_of(classroom.handle("GET", "/api/scenarios/tiny", ""));
  const std::string id = start(classroom);
  const Json last = body_of(classroom.handle("POST", "/api/sessions/" + id + "/step", R"({"steps":24})"));
  for (std::size_t c = 0; c < scenario["charts"].size(); ++c) {
    for (std::size_t l = 0; l < scenario["charts"][c]["lines"].size(); ++l) {
      CHECK(last["points"].back()["values"][c][l] == scenario["charts"][c]["lines"][l]["baseline"][24]);
    }
  }
  const HttpReply yaml = classroom.handle("GET", "/api/sessions/" + id + "/scenario.yaml", "");
  CHECK_THAT(yaml.body, !Catch::Contains("#   --set"));
  // Issue 15.10: an unknown key in a step request is refused, not ignored.
  const HttpReply typo = classroom.handle("POST", "/api/sessions/" + id + "/step", R"({"stepz":5})");
  CHECK(typo.status == 400);
  CHECK_THAT(body_of(typo)["error"].get<std::string>(), Catch::Contains("unknown key 'stepz'"));
  // Wrong methods get 405 with the allowed ones.
  const HttpReply put = classroom.handle("PUT", "/api/sessions/" + id + "/step", "");
  CHECK(put.status == 405);
  CHECK(put.allow == "POST");
  CHECK(classroom.handle("DELETE", "/api/scenarios", "").status == 405);
}

TEST_CASE("serve: sessions are bounded, least recently used dropped first", "[serve]") {
  techdep::Classroom classroom = make_classroom(2);
  const std::string first = start(classroom);
  const std::string second = start(classroom);
  CHECK(classroom.handle("POST", "/api/sessions/" + first + "/step", "").status == 200);
  const std::string third = start(classroom);
  CHECK(classroom.session_count() == 2);
  CHECK(classroom.handle("POST", "/api/sessions/" + second + "/step", "").status == 404);
  CHECK(classroom.handle("POST", "/api/sessions/" + first + "/step", "").status == 200);
  CHECK(classroom.handle("POST", "/api/sessions/" + third + "/step", "").status == 200);
}

TEST_CASE("serve: many clients at once, each session its own numbers", "[serve]") {
  techdep::Classroom classroom = make_classroom(8);
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int client = 0; client < 6; ++client) {
    clients.emplace_back([&, client] {
      const HttpReply created = classroom.handle(
          "POST", "/api/sessions",
          Json{{"scenario", "tiny"}, {"settings", {{"events[chip-controls].intensity", 0.1 * client}}}}.dump());
      if (created.status != 201) {
        ++failures;
        return;
      }
      const std::string id = Json::parse(created.body)["session"];
      for (int step = 0; step < 24; ++step) {
        if (classroom.handle("POST", "/api/sessions/" + id + "/step", "").status != 200) ++failures;
        if (classroom.handle("GET", "/api/scenarios", "").status != 200) ++failures;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  CHECK(failures == 0);
  CHECK(classroom.session_count() == 6);
}
