// HttpApi: the gateway calls (ContactIngest), the Admin reads and the event
// feed (Admin.WatchEvents) as JSON over the engine's HTTP port, for web
// gateways, dashboards and CRMs that cannot hold a gRPC channel. One model
// with the gRPC API: bodies are the same request protos in protobuf's JSON
// mapping, validated and turned into commands by the same code
// (engine/edge_calls.h), authorized with the same roles (the Authorization
// header through Authenticator::AuthorizeCredentials), admitted by the same
// backlog bound; errors are the same codes and messages, mapped to HTTP
// statuses (engine/web/http_status.h).
//
//   POST  /v1/contacts                   Submit (body: ContactSpec; Idempotency-Key header)
//   GET   /v1/contacts/{id}              GetContact by id
//   GET   /v1/contacts?idempotency_key=K GetContact by the gateway's key
//   POST  /v1/contacts/{id}:update       Update (body: UpdateRequest; PATCH /v1/contacts/{id} too)
//   POST  /v1/contacts/{id}:cancel       Cancel (body: CancelRequest, optional)
//   GET   /v1/queues                     Admin.ListQueues
//   GET   /v1/agents?page_size=&page_token=  Admin.ListAgents
//   GET   /v1/events                     Admin.WatchEvents as Server-Sent Events
//
// Runs on the HTTP server's io thread and never blocks it: every call is
// posted to the routing strand, and its reply is rendered as JSON back on the
// io thread (`http_io`), not on the strand.
#ifndef CCROUTER_ENGINE_WEB_HTTP_API_H_
#define CCROUTER_ENGINE_WEB_HTTP_API_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "boost/asio/io_context.hpp"
#include "engine/auth.h"
#include "engine/edge_calls.h"
#include "engine/engine.h"
#include "engine/http_server.h"
#include "google/protobuf/message.h"

namespace ccr {

// The route a request path belongs to, for the HTTP request metrics: the
// API's patterns above ("/v1/contacts/{id}" for every contact's path, its
// actions included), /v1/agent-desk, the pages ("/web/{file}" for every
// asset), /metrics, /healthz, /readyz; "/v1/other" and "other" for the
// rest. A fixed set, never the path itself, which may carry a contact id.
absl::string_view HttpRouteLabel(absl::string_view path);

// The methods the API needs the HTTP server to pass on (HttpServerOptions::
// allowed_methods).
inline const std::vector<std::string>& HttpApiMethods() {
  static const std::vector<std::string> methods = {"GET", "HEAD", "POST", "PATCH"};
  return methods;
}

struct HttpApiOptions {
  // A comment line on an idle event stream, so proxies keep it open.
  absl::Duration events_heartbeat = absl::Seconds(15);
};

class HttpApi {
 public:
  // `engine`, `auth` and `http_io` (whose thread runs the HTTP server) must
  // outlive every request.
  HttpApi(Engine& engine, const Authenticator& auth, boost::asio::io_context& http_io,
          HttpApiOptions options = {});

  // Answers `request` and returns true when its path is the API's (/v1/...);
  // false, without answering, otherwise.
  bool Handle(const HttpRequest& request, const HttpRespond& respond);

 private:
  void Submit(const HttpRequest& request, const HttpRespond& respond);
  void GetContact(const HttpRequest& request, const std::string& contact_id,
                  const HttpRespond& respond);
  void Update(const HttpRequest& request, const std::string& contact_id,
              const HttpRespond& respond);
  void Cancel(const HttpRequest& request, const std::string& contact_id,
              const HttpRespond& respond);
  void ListQueues(const HttpRequest& request, const HttpRespond& respond);
  void ListAgents(const HttpRequest& request, const HttpRespond& respond);
  void WatchEvents(const HttpRequest& request, const HttpRespond& respond);

  // Journals `cmd`, applies it, runs `answer` on the strand and answers with
  // `*reply` as JSON (or the error); refused at once at the backlog bound.
  void Execute(std::shared_ptr<google::protobuf::Message> reply, v1::Command cmd,
               CommandAnswer answer, const HttpRespond& respond);
  // The same for a read.
  void Read(std::shared_ptr<google::protobuf::Message> reply, StrandRead read,
            const HttpRespond& respond);
  // Answers from the strand: renders on the io thread.
  void AnswerFromStrand(absl::Status status, std::shared_ptr<google::protobuf::Message> reply,
                        const HttpRespond& respond);

  Engine& engine_;
  const Authenticator& auth_;
  boost::asio::io_context& http_io_;
  const HttpApiOptions options_;
};

// Splits a query string into its decoded name/value pairs ('+' is a space,
// %XX a byte). INVALID_ARGUMENT naming the query for a bad escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_WEB_HTTP_API_H_
