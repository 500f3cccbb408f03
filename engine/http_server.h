// HttpServer: the operations port (/metrics, /healthz, /readyz), served with
// Boost.Beast on the engine's io_context. Every operation is asynchronous,
// so a slow scraper never stalls routing; each connection has a deadline.
#ifndef CCROUTER_ENGINE_HTTP_SERVER_H_
#define CCROUTER_ENGINE_HTTP_SERVER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace ccr {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpRequest {
  std::string path;           // no query string
  std::string authorization;  // the Authorization header, if any
  std::string peer;           // "ipv4:127.0.0.1:5555"
};

// Called on the io_context thread.
using HttpHandler = std::function<HttpResponse(const HttpRequest& request)>;

class HttpServer {
 public:
  // Binds `host:port` (port 0 picks one). Fails with the address named.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(boost::asio::io_context& io,
                                                           const std::string& host, int port,
                                                           HttpHandler handler);
  int port() const { return port_; }
  void Stop();

 private:
  HttpServer(boost::asio::io_context& io, HttpHandler handler);
  void Accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  HttpHandler handler_;
  int port_ = 0;
};

// Splits "host:port" / "[::1]:port"; InvalidArgument naming `flag` otherwise.
absl::Status ParseHostPort(const std::string& flag, const std::string& value, std::string* host,
                           int* port);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_HTTP_SERVER_H_
