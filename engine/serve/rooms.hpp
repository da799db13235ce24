#pragma once
// The sanctions game (docs/teaching.md, "The sanctions game"): rooms a teacher opens from a
// scenario, roles derived from its story (the coalition that imposes controls, their target, its
// largest other supplier, a transshipment hub), turns in which every role sets its levers, and a
// debrief that shares the outcome out among the players' moves (Shapley values over roles).
// A game is a scenario: the original plus, per move, a `lift` of the event a lever belonged to and
// a copy with the new values from the turn's first step, so `techdep run` replays it exactly.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "techdep/report/charts.hpp"
#include "techdep/scenario/scenario_spec.hpp"
#include "techdep/serve/classroom.hpp"

namespace techdep {

struct RoomsOptions {
  std::string database;  ///< SQLite file; "" keeps rooms in memory only
  std::size_t max_rooms = 32;
  std::size_t max_players = 12;
  int idle_hours = 12;
};

/// What a room needs of an offered scenario.
struct RoomScenario {
  const ScenarioSpec* spec = nullptr;
  std::string file;
  const std::vector<ChartPlan>* charts = nullptr;
};

class Rooms {
 public:
  using FindScenario = std::function<RoomScenario(std::string_view name)>;
  Rooms(RoomsOptions options, FindScenario find);
  ~Rooms();
  Rooms(const Rooms&) = delete;
  Rooms& operator=(const Rooms&) = delete;

  /// /api/rooms...: `path` holds the segments ("api", "rooms", CODE, ACTION), `query` what
  /// follows the `?` (player=KEY, teacher=KEY).
  HttpReply route(std::string_view method, const std::vector<std::string_view>& path,
                  std::string_view query, std::string_view body);
  /// Reopens every room the database holds, replayed to its turn (after the scenarios loaded).
  void resume();
  void expire_idle();
  std::size_t count() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace techdep
