// The only file that includes cpp-httplib: it routes every request to Classroom::handle.

#include <httplib.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "techdep/core/error.hpp"
#include "techdep/serve/classroom.hpp"

namespace techdep {

namespace {

// Requests beyond the body limit get 413 from httplib before a handler runs; the handler checks
// again so that the limit holds whatever the transport.
void forward(Classroom& classroom, const httplib::Request& request, httplib::Response& response) {
  const HttpReply reply = classroom.handle(request.method, request.path, request.body);
  response.status = reply.status;
  if (!reply.download_name.empty()) {
    response.set_header("Content-Disposition",
                        fmt::format("attachment; filename=\"{}\"", reply.download_name));
  }
  response.set_header("Cache-Control", "no-store");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_content(reply.body, reply.content_type.c_str());
}

}  // namespace

void serve_classroom(Classroom& classroom, const ServeOptions& options,
                     const std::atomic<bool>* stop, const std::function<void(int)>& on_listening) {
  httplib::Server server;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, options.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(classroom.options().max_body_bytes);
  // A slow or silent client must not hold a worker for long.
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_timeout(2);
  const auto handler = [&classroom](const httplib::Request& request, httplib::Response& response) {
    forward(classroom, request, response);
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    // httplib's own refusals (413 over the size limit, 400 for a broken request line) get a
    // JSON body like every other error.
    if (response.body.empty()) {
      response.set_content(fmt::format("{{\"error\":\"HTTP {}\"}}", response.status),
                           "application/json");
    }
  });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.host);
  } else if (!server.bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port < 0) {
    throw IoError(fmt::format("serve: cannot listen on {}:{}", options.host, options.port));
  }
  std::atomic<bool> listener_done{false};
  const auto stopping = [&] { return listener_done.load() || (stop != nullptr && stop->load()); };
  std::thread watcher([&] {
    while (!stopping() && !server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!stopping() && on_listening) on_listening(port);
    while (!stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    server.stop();
  });
  server.listen_after_bind();
  listener_done.store(true);
  watcher.join();
  if (stop == nullptr || !stop->load()) {
    throw IoError(fmt::format("serve: the listener on {}:{} stopped", options.host, port));
  }
}

}  // namespace techdep
