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
};

struct ClassroomOptions {
  std::vector<std::string> scenario_files;  ///< the scenarios a student can pick
  std::size_t max_sessions = 64;            ///< the least recently used is dropped beyond
  std::size_t max_body_bytes = 64 * 1024;   ///< larger requests get 413
};

/// One slider: a scenario parameter a student may change, with the bounds the page offers. The
/// server accepts any value the scenario loader accepts (its ranges are the real bounds).
struct Slider {
  std::string path;  ///< a --set path: `events[export-controls-2022].intensity`
  std::string unit;
  std::string meaning;
  double min = 0.0;
  double max = 1.0;
  double value = 0.0;  ///< the scenario's own value
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
  int threads = 4;  ///< request threads (bounded pool)
};

/// Serves the classroom until `stop` becomes true; calls `on_listening` with the bound port once
/// it accepts connections. Throws IoError when the address cannot be bound.
void serve_classroom(Classroom& classroom, const ServeOptions& options,
                     const std::atomic<bool>* stop, const std::function<void(int)>& on_listening);

}  // namespace techdep
