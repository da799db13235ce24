// The only file that includes cpp-httplib: it routes every request to Classroom::handle.

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "techdep/core/error.hpp"
#include "techdep/serve/classroom.hpp"

namespace techdep {

namespace {

void send(const HttpReply& reply, httplib::Response& response) {
  response.status = reply.status;
  if (!reply.download_name.empty()) {
    response.set_header("Content-Disposition",
                        fmt::format("attachment; filename=\"{}\"", reply.download_name));
  }
  if (!reply.allow.empty()) response.set_header("Allow", reply.allow);
  response.set_header("Cache-Control", "no-store");
  response.set_header("X-Content-Type-Options", "nosniff");
  if (reply.stream) {
    // Made while it is sent: the provider runs once and writes the whole body piece by piece.
    const auto stream = reply.stream;
    response.set_chunked_content_provider(
        reply.content_type, [stream](std::size_t, httplib::DataSink& sink) {
          stream([&](std::string_view piece) { return sink.write(piece.data(), piece.size()); });
          sink.done();
          return true;
        });
    return;
  }
  response.set_content(reply.body, reply.content_type.c_str());
}

// Bodies are read here, piece by piece, and refused as soon as they pass the limit: a chunked
// upload has no Content-Length for httplib to check, and must not be gathered whole first.
void forward_with_body(Classroom& classroom, const httplib::Request& request,
                       httplib::Response& response, const httplib::ContentReader& reader) {
  const std::size_t limit = classroom.options().max_body_bytes;
  std::string body;
  bool too_large = false;
  reader([&](const char* data, std::size_t length) {
    if (body.size() + length > limit) {
      too_large = true;
      return false;
    }
    body.append(data, length);
    return true;
  });
  if (too_large) {
    response.set_header("Connection", "close");
    send({413, "application/json",
          fmt::format(R"({{"error":"request body is over the limit of {} bytes"}})", limit), {}, {}, {}},
         response);
    return;
  }
  send(classroom.handle(request.method, request.target, body), response);
}

// Debian's cpp-httplib is built with a listen backlog of 5: a class whose pages open connections
// in a burst overflows it, the kernel drops the extra connection requests and each client waits
// for its retry, a full second. listen() again on the bound socket (found among this process's
// descriptors by its port) raises the backlog; the kernel caps it at net.core.somaxconn.
void widen_listen_backlog(int port) {
  for (int descriptor = 0; descriptor < 1024; ++descriptor) {
    int listening = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening == 0) continue;
    sockaddr_storage address{};
    socklen_t address_length = sizeof address;
    if (getsockname(descriptor, reinterpret_cast<sockaddr*>(&address), &address_length) != 0) continue;
    int bound = -1;
    if (address.ss_family == AF_INET) bound = ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    if (address.ss_family == AF_INET6) bound = ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    if (bound == port) listen(descriptor, SOMAXCONN);
  }
}

}  // namespace

void serve_classroom(Classroom& classroom, const ServeOptions& options,
                     const std::atomic<bool>* stop, const std::function<void(int)>& on_listening) {
  httplib::Server server;
  const std::size_t threads = static_cast<std::size_t>(std::max(1, options.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(classroom.options().max_body_bytes);
  // A slow or silent client must not hold a worker for long (the pool is large, see ServeOptions).
  server.set_read_timeout(2, 0);
  // A download of a large run is written as fast as the client reads it; a client that stops
  // reading altogether is dropped after this long.
  server.set_write_timeout(30, 0);
  // An idle kept-alive connection holds a request thread: keep it short.
  server.set_keep_alive_timeout(1);
  const auto handler = [&classroom](const httplib::Request& request, httplib::Response& response) {
    send(classroom.handle(request.method, request.target, ""), response);
  };
  const auto body_handler = [&classroom](const httplib::Request& request, httplib::Response& response,
                                         const httplib::ContentReader& reader) {
    forward_with_body(classroom, request, response, reader);
  };
  // Every method reaches the router, which answers 405 with an Allow header where one is wrong.
  server.Get(".*", handler);
  server.Post(".*", body_handler);
  server.Put(".*", body_handler);
  server.Patch(".*", body_handler);
  server.Delete(".*", body_handler);
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
  widen_listen_backlog(port);
  std::atomic<bool> listener_done{false};
  const auto stopping = [&] { return listener_done.load() || (stop != nullptr && stop->load()); };
  std::thread watcher([&] {
    while (!stopping() && !server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!stopping() && on_listening) on_listening(port);
    auto next_sweep = std::chrono::steady_clock::now();
    while (!stopping()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (std::chrono::steady_clock::now() >= next_sweep) {
        classroom.expire_idle_rooms();
        next_sweep = std::chrono::steady_clock::now() + std::chrono::minutes(1);
      }
    }
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
