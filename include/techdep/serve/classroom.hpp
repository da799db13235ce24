#pragma once
// `techdep serve`: the classroom page. Classroom holds the scenarios, the students' sessions and
// every request handler as a plain function of (method, path, body), so that handlers are tested
// without a socket; serve_classroom() puts it behind a local HTTP server (cpp-httplib, only in
// engine/serve/http_server.cpp).

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string download_name;  ///< sent as Content-Disposition: attachment when not empty
  /// A large body made piece by piece while it is sent (CSV downloads), so that it is never held
  /// whole in memory: called once with a writer that returns false when the client has gone.
  std::function<void(const std::function<bool(std::string_view)>& write)> stream;
  std::string allow;  ///< the Allow header of a 405
};

struct ClassroomOptions {
  std::vector<std::string> scenario_files;  ///< the scenarios a student can pick
  std::size_t max_sessions = 64;            ///< the least recently used is dropped beyond
  std::size_t max_body_bytes = 64 * 1024;   ///< larger requests get 413
  /// Load the scenarios and their baselines on a background thread, so that the port opens at
  /// once; a scenario still loading answers 503, one that fails to load is listed with its error.
  /// Off: the constructor loads them all and throws for the first bad one.
  bool load_in_background = false;
  std::size_t max_concurrent_downloads = 2;  ///< CSV replays at once; more wait their turn
  std::string rooms_database;  ///< SQLite file that keeps the game rooms ("" : in memory only)
  std::size_t max_rooms = 32;
  std::size_t max_players_per_room = 12;
  int room_idle_hours = 12;  ///< a room untouched this long is removed
};

/// One slider: a scenario parameter a student may change, with the bounds the page offers. The
/// server accepts any value the scenario loader accepts (its ranges are the real bounds).
struct Slider {
  std::string path;  ///< a --set path: `events[export-controls-2022].intensity`
  std::string unit;
  std::string meaning;  ///< the parameter catalogue's explanation
  double min = 0.0;     ///< the smallest value the loader accepts (an open end moves in a step)
  double max = 1.0;
  double value = 0.0;  ///< the scenario's own value
  double step = 0.01;  ///< a round step for the slider; the number field takes any value
  std::string label;   ///< plain words: "Export controls 2022: share of exports blocked"
  std::string group;   ///< who pulls the lever: "United States, European Union", "People"
  std::string actor;   ///< the country id that pulls it (empty: nobody's, e.g. markets)
};

class Classroom {
 public:
  /// Loads and validates every scenario; throws ScenarioError or IoError for a bad one, UsageError
  /// when there is none.
  explicit Classroom(ClassroomOptions options);
  ~Classroom();
  Classroom(const Classroom&) = delete;
  Classroom& operator=(const Classroom&) = delete;

  /// Answers one request. Never throws: bad requests get 400 (with the loader's message for an
  /// invalid setting), 404, 405 or 413; an unexpected failure gets 500.
  HttpReply handle(std::string_view method, std::string_view path, std::string_view body);

  std::size_t session_count() const;
  std::size_t room_count() const;
  /// Blocks until every scenario has been tried (only useful with load_in_background).
  void wait_until_loaded() const;
  /// Removes idle rooms; the server calls it now and then.
  void expire_idle_rooms();
  const ClassroomOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The sliders of a loaded scenario: each event's strength parameters (per-month rates only for
/// monthly scenarios, where the file's value is the per-step value), each sector's adjustment
/// speed and the reroute markup.
std::vector<Slider> scenario_sliders(const ScenarioSpec& spec);

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  ///< 0: any free port
  /// Request threads (a bounded pool). Each open connection holds one while it is kept alive or
  /// while its body trickles in, so the pool is sized for a class, not for the cores.
  int threads = 64;
};

/// Serves the classroom until `stop` becomes true; calls `on_listening` with the bound port once
/// it accepts connections. Throws IoError when the address cannot be bound.
void serve_classroom(Classroom& classroom, const ServeOptions& options,
                     const std::atomic<bool>* stop, const std::function<void(int)>& on_listening);

}  // namespace techdep
