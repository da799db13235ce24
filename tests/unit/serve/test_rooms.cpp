// The sanctions game: rooms, roles, turns, the debrief, the game as a scenario and persistence.

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "integration/cli_runner.hpp"
#include "techdep/model/simulation.hpp"
#include "techdep/scenario/load_scenario.hpp"
#include "techdep/serve/classroom.hpp"

namespace fs = std::filesystem;
using Json = nlohmann::json;
using techdep::HttpReply;
using techdep::test::TempDir;

namespace {

Json body_of(const HttpReply& reply) { return Json::parse(reply.body); }

techdep::ClassroomOptions options_for(const std::string& database = "") {
  techdep::ClassroomOptions options;
  options.scenario_files = {"tests/data/cli/tiny.yaml"};
  options.rooms_database = database;
  return options;
}

struct Game {
  std::string code, teacher;
  std::map<std::string, std::string> player;  // role -> player key
};

Game open_and_join(techdep::Classroom& classroom) {
  const HttpReply opened = classroom.handle("POST", "/api/rooms", R"({"scenario":"tiny","turn":"quarter","turns":3})");
  REQUIRE(opened.status == 201);
  Game game{body_of(opened)["code"], body_of(opened)["teacher_key"], {}};
  const Json room = body_of(classroom.handle("GET", "/api/rooms/" + game.code, ""));
  for (const Json& role : room["roles"]) {
    const HttpReply joined = classroom.handle(
        "POST", "/api/rooms/" + game.code + "/join",
        Json{{"name", "player of " + role["id"].get<std::string>()}, {"role", role["id"]}}.dump());
    REQUIRE(joined.status == 201);
    game.player[role["id"]] = body_of(joined)["player"];
  }
  return game;
}

Json lever_of(const Json& room, const std::string& role, std::size_t index) {
  for (const Json& entry : room["roles"]) {
    if (entry["id"] == role) return entry["levers"][index];
  }
  FAIL("no role " << role);
  return {};
}

HttpReply submit(techdep::Classroom& classroom, const Game& game, const std::string& role, const Json& levers) {
  return classroom.handle("POST", "/api/rooms/" + game.code + "/submit",
                          Json{{"player", game.player.at(role)}, {"levers", levers}}.dump());
}

}  // namespace

TEST_CASE("game: roles from the story, turns, the debrief and the game as a scenario", "[serve][game]") {
  techdep::Classroom classroom(options_for());
  const Game game = open_and_join(classroom);
  Json room = body_of(classroom.handle("GET", "/api/rooms/" + game.code + "?player=" + game.player.at("EST"), ""));
  REQUIRE(room["roles"].size() == 2);
  CHECK(room["roles"][0]["id"] == "coalition");
  CHECK(room["roles"][1]["id"] == "EST");
  CHECK(room["you"]["role"] == "EST");
  CHECK(room["turn"] == 0);
  const std::string controls = lever_of(room, "coalition", 0)["id"];
  const std::string programme = lever_of(room, "EST", 0)["id"];

  // Levers are checked: another role's lever, or a value out of bounds, is refused.
  CHECK(submit(classroom, game, "EST", {{controls, 0.5}}).status == 400);
  CHECK(submit(classroom, game, "coalition", {{controls, 1.5}}).status == 400);
  CHECK(classroom.handle("POST", "/api/rooms/" + game.code + "/advance", R"({"teacher_key":"wrong"})").status == 403);

  // The world steps when every staffed role has submitted.
  HttpReply reply = submit(classroom, game, "coalition", {{controls, 0.3}});
  CHECK(body_of(reply)["stepped"] == false);
  reply = submit(classroom, game, "EST", {{programme, 0.9}});
  CHECK(body_of(reply)["stepped"] == true);
  CHECK(body_of(reply)["turn"] == 1);
  // Or when the teacher advances it.
  reply = classroom.handle("POST", "/api/rooms/" + game.code + "/advance",
                           Json{{"teacher_key", game.teacher}}.dump());
  CHECK(body_of(reply)["turn"] == 2);
  submit(classroom, game, "coalition", {{controls, 0.95}});
  submit(classroom, game, "EST", {{programme, 0.1}});
  room = body_of(classroom.handle("GET", "/api/rooms/" + game.code, ""));
  REQUIRE(room["finished"] == true);
  CHECK(room["points"].size() == 25);  // the last turn runs to the scenario's end
  // A poll asks only for the steps it does not hold yet.
  const Json since = body_of(classroom.handle("GET", "/api/rooms/" + game.code + "?from=20", ""));
  REQUIRE(since["points"].size() == 5);
  CHECK(since["points"][0] == room["points"][20]);
  CHECK(submit(classroom, game, "EST", {{programme, 0.2}}).status == 409);

  // The debrief: every row's shares add up to the class's outcome minus the scenario as written.
  const Json& debrief = room["debrief"];
  REQUIRE(debrief.is_object());
  for (const Json& metric : debrief["metrics"]) {
    double sum = 0.0;
    for (const auto& [role, value] : metric["by_role"].items()) sum += value.get<double>();
    CHECK(sum == Approx(metric["class"].get<double>() - metric["historical"].get<double>()).margin(1e-9));
  }
  CHECK(debrief["metrics"][0]["class"] != debrief["metrics"][0]["historical"]);

  // The game as a scenario, saved beside the original, replays the game exactly.
  const HttpReply yaml = classroom.handle("GET", "/api/rooms/" + game.code + "/game.yaml", "");
  REQUIRE(yaml.status == 200);
  TempDir temp;
  fs::copy_file("tests/data/cli/tiny.yaml", temp.path() / "tiny.yaml");
  fs::copy_file("tests/data/cli/facts.yaml", temp.path() / "facts.yaml");
  std::ofstream(temp.path() / yaml.download_name) << yaml.body;
  const techdep::ScenarioSpec replayed = techdep::load_scenario((temp.path() / yaml.download_name).string()).spec;
  techdep::Simulation simulation(replayed);
  while (!simulation.finished()) simulation.step();
  const Json scenario = body_of(classroom.handle("GET", "/api/scenarios/tiny", ""));
  std::size_t chart = 0;
  while (scenario["charts"][chart]["id"] != "domestic_share.EST") ++chart;
  std::size_t line = 0;
  while (scenario["charts"][chart]["lines"][line]["label"] != "chips") ++line;
  CHECK(room["points"][24]["values"][chart][line].get<double>() ==
        simulation.metrics().value(techdep::Metric::DomesticShare, 0, 0, -1));
  CHECK(room["points"][24]["values"][chart][line] != scenario["charts"][chart]["lines"][line]["baseline"][24]);
}

TEST_CASE("game: rooms are bounded and checked", "[serve][game]") {
  techdep::ClassroomOptions options = options_for();
  options.max_rooms = 1;
  options.max_players_per_room = 1;
  techdep::Classroom classroom(options);
  CHECK(classroom.handle("POST", "/api/rooms", R"({"scenario":"tiny","turn":"decade"})").status == 400);
  CHECK(classroom.handle("POST", "/api/rooms", R"({"scenario":"tiny","turnz":"year"})").status == 400);
  CHECK(classroom.handle("POST", "/api/rooms", R"({"scenario":"tiny","turns":99})").status == 400);
  const HttpReply opened = classroom.handle("POST", "/api/rooms", R"({"scenario":"tiny"})");
  REQUIRE(opened.status == 201);
  CHECK(classroom.handle("POST", "/api/rooms", R"({"scenario":"tiny"})").status == 503);
  const std::string code = body_of(opened)["code"];
  CHECK(code.size() == 6);
  CHECK(classroom.handle("GET", "/api/rooms/ZZZZZZ", "").status == 404);
  CHECK(classroom.handle("POST", "/api/rooms/" + code + "/join", R"({"name":"a","role":"EST"})").status == 201);
  CHECK(classroom.handle("POST", "/api/rooms/" + code + "/join", R"({"name":"b","role":"EST"})").status == 409);
  CHECK(classroom.handle("POST", "/api/rooms/" + code + "/join", R"({"name":"c","role":"nobody"})").status == 400);
}

TEST_CASE("game: a restarted server resumes every room at its turn", "[serve][game]") {
  TempDir temp;
  const std::string database = (temp.path() / "rooms.sqlite").string();
  Game game;
  Json before;
  {
    techdep::Classroom classroom(options_for(database));
    game = open_and_join(classroom);
    const Json room = body_of(classroom.handle("GET", "/api/rooms/" + game.code, ""));
    submit(classroom, game, "coalition", {{lever_of(room, "coalition", 1)["id"], 0.05}});
    submit(classroom, game, "EST", {{lever_of(room, "EST", 0)["id"], 0.7}});
    before = body_of(classroom.handle("GET", "/api/rooms/" + game.code + "?player=" + game.player.at("EST"), ""));
    REQUIRE(before["turn"] == 1);
  }
  techdep::Classroom restarted(options_for(database));
  CHECK(restarted.room_count() == 1);
  const Json after = body_of(restarted.handle("GET", "/api/rooms/" + game.code + "?player=" + game.player.at("EST"), ""));
  CHECK(after == before);
  // And the game goes on from there.
  CHECK(body_of(submit(restarted, game, "coalition", Json::object()))["stepped"] == false);
  CHECK(body_of(submit(restarted, game, "EST", Json::object()))["turn"] == 2);
}
