#include "engine/web/http_api.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "boost/asio/post.hpp"
#include "ccrouter/v1/admin.pb.h"
#include "ccrouter/v1/ingest.pb.h"
#include "engine/web/http_sse.h"
#include "engine/web/http_status.h"
#include "google/protobuf/util/json_util.h"

namespace ccr {

namespace {

constexpr char kContactsPath[] = "/v1/contacts";
constexpr char kContactPrefix[] = "/v1/contacts/";
constexpr char kJson[] = "application/json";

// Parses a JSON body into `message` with protobuf's JSON mapping; an unknown
// field is an error (a misspelt field must not be silently dropped).
// `empty_is_default`: an empty body is the message with every field unset.
absl::Status ParseJsonBody(const std::string& body, google::protobuf::Message* message,
                           bool empty_is_default) {
  if (body.empty()) {
    if (empty_is_default) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("body: required: a ", message->GetDescriptor()->name(), " as JSON"));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(body, message, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("body: not a ", message->GetDescriptor()->name(),
                                                   " in JSON: ", parsed.message().ToString()));
  }
  return absl::OkStatus();
}

std::optional<std::string> QueryValue(const std::vector<std::pair<std::string, std::string>>& query,
                                      absl::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

HttpResponse MethodNotAllowed(const HttpRequest& request, absl::string_view allowed) {
  HttpResponse r = HttpJsonError(
      405, "UNIMPLEMENTED",
      absl::StrCat(request.method, " ", request.path.substr(0, 128), ": use ", allowed));
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

bool IsRead(const HttpRequest& request) {
  return request.method == "GET" || request.method == "HEAD";
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> DecodeQueryPart(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      const int hi = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
      if (hi < 0 || low < 0) {
        return absl::InvalidArgumentError("query: a '%' not followed by two hex digits");
      }
      out += static_cast<char>(hi * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    const size_t eq = part.find('=');
    absl::StatusOr<std::string> name = DecodeQueryPart(part.substr(0, eq));
    if (!name.ok()) return name.status();
    absl::StatusOr<std::string> value =
        DecodeQueryPart(eq == absl::string_view::npos ? "" : part.substr(eq + 1));
    if (!value.ok()) return value.status();
    out.emplace_back(*std::move(name), *std::move(value));
  }
  return out;
}

HttpApi::HttpApi(Engine& engine, const Authenticator& auth, boost::asio::io_context& http_io,
                 HttpApiOptions options)
    : engine_(engine), auth_(auth), http_io_(http_io), options_(options) {}

absl::string_view HttpRouteLabel(absl::string_view path) {
  static constexpr absl::string_view kExact[] = {
      kContactsPath, "/v1/queues", "/v1/agents", "/v1/events", "/v1/agent-desk",
      "/wallboard",  "/desk",      "/metrics",   "/healthz",   "/readyz"};
  for (absl::string_view route : kExact) {
    if (path == route) return route;
  }
  if (absl::StartsWith(path, kContactPrefix)) return "/v1/contacts/{id}";
  if (absl::StartsWith(path, "/v1/")) return "/v1/other";
  if (absl::StartsWith(path, "/web/")) return "/web/{file}";
  return "other";
}

bool HttpApi::Handle(const HttpRequest& request, const HttpRespond& respond) {
  const std::string& path = request.path;
  if (!absl::StartsWith(path, "/v1/")) return false;
  if (path == kContactsPath) {
    if (request.method == "POST") return Submit(request, respond), true;
    if (IsRead(request)) return GetContact(request, "", respond), true;
    return respond(MethodNotAllowed(request, "POST, GET")), true;
  }
  if (absl::StartsWith(path, kContactPrefix)) {
    // "{id}", "{id}:update" or "{id}:cancel" (ids never hold a ':' or '/').
    const absl::string_view rest = absl::string_view(path).substr(sizeof(kContactPrefix) - 1);
    const size_t colon = rest.find(':');
    const std::string id(rest.substr(0, colon));
    const absl::string_view action = colon == absl::string_view::npos ? "" : rest.substr(colon + 1);
    if (id.empty() || absl::StrContains(id, '/')) {
      respond(HttpJsonError(404, "NOT_FOUND", "no such endpoint; see /v1/contacts/{id}"));
    } else if (action.empty()) {
      if (IsRead(request)) {
        GetContact(request, id, respond);
      } else if (request.method == "PATCH") {
        Update(request, id, respond);
      } else {
        respond(MethodNotAllowed(request, "GET, PATCH"));
      }
    } else if (action == "update" || action == "cancel") {
      if (request.method != "POST") {
        respond(MethodNotAllowed(request, "POST"));
      } else if (action == "update") {
        Update(request, id, respond);
      } else {
        Cancel(request, id, respond);
      }
    } else {
      respond(HttpJsonError(404, "NOT_FOUND",
                            "no such action; use /v1/contacts/{id}:update or :cancel"));
    }
    return true;
  }
  if (path == "/v1/queues" || path == "/v1/agents" || path == "/v1/events") {
    const bool events = path == "/v1/events";
    if (!(events ? request.method == "GET" : IsRead(request))) {
      return respond(MethodNotAllowed(request, "GET")), true;
    }
    if (events) {
      WatchEvents(request, respond);
    } else if (path == "/v1/queues") {
      ListQueues(request, respond);
    } else {
      ListAgents(request, respond);
    }
    return true;
  }
  respond(HttpJsonError(404, "NOT_FOUND",
                        "no such endpoint; the API serves /v1/contacts, /v1/queues, /v1/agents, "
                        "/v1/events"));
  return true;
}

namespace {

// Authorizes the request for `roles` as the gRPC method `method` would be
// (the same denial message and count); answers the denial itself.
bool Authorized(const Authenticator& auth, const HttpRequest& request, RoleSet roles,
                absl::string_view method, const HttpRespond& respond) {
  absl::StatusOr<Principal> who =
      auth.AuthorizeCredentials(request.authorization, "", roles, method, request.peer);
  if (who.ok()) return true;
  respond(HttpErrorFromStatus(who.status()));
  return false;
}

}  // namespace

void HttpApi::Submit(const HttpRequest& request, const HttpRespond& respond) {
  if (!Authorized(auth_, request, kIngestRoles, "ContactIngest.Submit", respond)) return;
  if (engine_.draining()) return respond(HttpErrorFromStatus(DrainingStatus()));
  v1::ContactSpec contact;
  if (absl::Status s = ParseJsonBody(request.body, &contact, false); !s.ok()) {
    return respond(HttpErrorFromStatus(s));
  }
  // The header is the usual place for HTTP clients; the body's field is the
  // gRPC one. Both, disagreeing, is a client bug: neither wins silently.
  if (!request.idempotency_key.empty()) {
    if (contact.idempotency_key().empty()) {
      contact.set_idempotency_key(request.idempotency_key);
    } else if (contact.idempotency_key() != request.idempotency_key) {
      return respond(HttpErrorFromStatus(absl::InvalidArgumentError(
          "Idempotency-Key: the header differs from contact.idempotency_key; send one, or the "
          "same in both")));
    }
  }
  SubmitAnswerKey key;
  absl::StatusOr<v1::Command> cmd = SubmitCommand(std::move(contact), engine_, &key);
  if (!cmd.ok()) return respond(HttpErrorFromStatus(cmd.status()));
  auto reply = std::make_shared<v1::SubmitReply>();
  CommandAnswer answer = SubmitAnswer(std::move(key), reply.get());
  Execute(std::move(reply), *std::move(cmd), std::move(answer), respond);
}

void HttpApi::GetContact(const HttpRequest& request, const std::string& contact_id,
                         const HttpRespond& respond) {
  if (!Authorized(auth_, request, kIngestRoles, "ContactIngest.GetContact", respond)) return;
  v1::GetContactRequest req;
  if (!contact_id.empty()) {
    req.mutable_contact()->set_contact_id(contact_id);
  } else {
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> query =
        ParseQuery(request.query);
    if (!query.ok()) return respond(HttpErrorFromStatus(query.status()));
    std::optional<std::string> key = QueryValue(*query, "idempotency_key");
    if (!key) {
      return respond(HttpErrorFromStatus(absl::InvalidArgumentError(
          "idempotency_key: required in the query (or GET /v1/contacts/{id})")));
    }
    req.mutable_contact()->set_idempotency_key(*key);
  }
  auto reply = std::make_shared<v1::ContactStatus>();
  absl::StatusOr<StrandRead> read = GetContactRead(req, reply.get());
  if (!read.ok()) return respond(HttpErrorFromStatus(read.status()));
  Read(std::move(reply), *std::move(read), respond);
}

namespace {
// The body of a call on /v1/contacts/{id}: its JSON, with the contact the
// path names (a body naming another one is refused).
template <typename Request>
absl::Status ParseContactBody(const HttpRequest& request, const std::string& contact_id,
                              Request* req) {
  CCR_RETURN_IF_ERROR(ParseJsonBody(request.body, req, true));
  if (!req->contact_id().empty() && req->contact_id() != contact_id) {
    return absl::InvalidArgumentError("contact_id: the body names another contact than the path");
  }
  req->set_contact_id(contact_id);
  return absl::OkStatus();
}
}  // namespace

void HttpApi::Update(const HttpRequest& request, const std::string& contact_id,
                     const HttpRespond& respond) {
  if (!Authorized(auth_, request, kIngestRoles, "ContactIngest.Update", respond)) return;
  v1::UpdateRequest req;
  if (absl::Status s = ParseContactBody(request, contact_id, &req); !s.ok()) {
    return respond(HttpErrorFromStatus(s));
  }
  absl::StatusOr<v1::Command> cmd = UpdateCommand(req);
  if (!cmd.ok()) return respond(HttpErrorFromStatus(cmd.status()));
  auto reply = std::make_shared<v1::UpdateReply>();
  CommandAnswer answer = UpdateAnswer(req, reply.get());
  Execute(std::move(reply), *std::move(cmd), std::move(answer), respond);
}

void HttpApi::Cancel(const HttpRequest& request, const std::string& contact_id,
                     const HttpRespond& respond) {
  if (!Authorized(auth_, request, kIngestRoles, "ContactIngest.Cancel", respond)) return;
  v1::CancelRequest req;
  if (absl::Status s = ParseContactBody(request, contact_id, &req); !s.ok()) {
    return respond(HttpErrorFromStatus(s));
  }
  absl::StatusOr<v1::Command> cmd = CancelCommand(req);
  if (!cmd.ok()) return respond(HttpErrorFromStatus(cmd.status()));
  auto reply = std::make_shared<v1::CancelReply>();
  CommandAnswer answer = CancelAnswer(reply.get());
  Execute(std::move(reply), *std::move(cmd), std::move(answer), respond);
}

void HttpApi::ListQueues(const HttpRequest& request, const HttpRespond& respond) {
  if (!Authorized(auth_, request, kReadRoles, "Admin.ListQueues", respond)) return;
  auto reply = std::make_shared<v1::ListQueuesReply>();
  StrandRead read = ListQueuesRead(reply.get());
  Read(std::move(reply), std::move(read), respond);
}

void HttpApi::ListAgents(const HttpRequest& request, const HttpRespond& respond) {
  if (!Authorized(auth_, request, kReadRoles, "Admin.ListAgents", respond)) return;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> query =
      ParseQuery(request.query);
  if (!query.ok()) return respond(HttpErrorFromStatus(query.status()));
  v1::ListAgentsRequest req;
  if (std::optional<std::string> size = QueryValue(*query, "page_size")) {
    uint32_t page_size = 0;
    if (!absl::SimpleAtoi(*size, &page_size)) {
      return respond(HttpErrorFromStatus(
          absl::InvalidArgumentError("page_size: not a whole number of agents")));
    }
    req.set_page_size(page_size);
  }
  if (std::optional<std::string> token = QueryValue(*query, "page_token")) {
    req.set_page_token(*token);
  }
  auto reply = std::make_shared<v1::ListAgentsReply>();
  absl::StatusOr<StrandRead> read = ListAgentsRead(req, reply.get());
  if (!read.ok()) return respond(HttpErrorFromStatus(read.status()));
  Read(std::move(reply), *std::move(read), respond);
}

void HttpApi::WatchEvents(const HttpRequest& request, const HttpRespond& respond) {
  if (!Authorized(auth_, request, kReadRoles, "Admin.WatchEvents", respond)) return;
  // Where to resume: an EventSource reconnecting sends the last id it read
  // as Last-Event-ID; a client may also ask with ?after=.
  std::optional<uint64_t> after;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> query =
      ParseQuery(request.query);
  if (!query.ok()) return respond(HttpErrorFromStatus(query.status()));
  std::optional<std::string> after_text;
  std::string field = "Last-Event-ID";
  if (!request.last_event_id.empty()) {
    after_text = request.last_event_id;
  } else if ((after_text = QueryValue(*query, "after"))) {
    field = "after";
  }
  if (after_text) {
    uint64_t sequence = 0;
    if (!absl::SimpleAtoi(*after_text, &sequence)) {
      return respond(HttpErrorFromStatus(
          absl::InvalidArgumentError(absl::StrCat(field, ": not an event sequence number"))));
    }
    after = sequence;
  }
  auto stream = std::make_shared<HttpStream>(engine_.options().watcher_outbox_limit,
                                             ": keepalive\n\n", options_.events_heartbeat);
  auto sink = std::make_shared<SseEventSink>(stream);
  // The same subscription as a gRPC watcher: the same window, cursor, bound
  // and count of open streams (EngineOptions::max_watchers).
  const bool admitted = engine_.Post(
      [sink, stream, after, respond](Engine& e) {
        absl::Status s = e.draining() ? absl::UnavailableError("engine is shutting down")
                                      : e.Subscribe(sink, after);
        if (!s.ok()) {
          stream->Detach();
          HttpResponse refused = HttpErrorFromStatus(s);
          // Gone: the events asked for have left the window for good.
          if (s.code() == absl::StatusCode::kOutOfRange) refused.status = 410;
          return respond(std::move(refused));
        }
        respond(HttpResponse{200,
                             "text/event-stream; charset=utf-8",
                             "",
                             {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}},
                             stream});
      },
      Admission::kClient);
  if (!admitted) respond(HttpErrorFromStatus(OverloadedStatus(engine_)));
}

void HttpApi::Execute(std::shared_ptr<google::protobuf::Message> reply, v1::Command cmd,
                      CommandAnswer answer, const HttpRespond& respond) {
  const bool admitted = engine_.Execute(
      std::move(cmd),
      [this, reply, answer = std::move(answer), respond](Engine& e, const ApplyResult& applied) {
        AnswerFromStrand(answer(e, applied), reply, respond);
      },
      Admission::kClient);
  if (!admitted) respond(HttpErrorFromStatus(OverloadedStatus(engine_)));
}

void HttpApi::Read(std::shared_ptr<google::protobuf::Message> reply, StrandRead read,
                   const HttpRespond& respond) {
  const bool admitted = engine_.Post([this, reply, read = std::move(read), respond](
                                         Engine& e) { AnswerFromStrand(read(e), reply, respond); },
                                     Admission::kClient);
  if (!admitted) respond(HttpErrorFromStatus(OverloadedStatus(engine_)));
}

void HttpApi::AnswerFromStrand(absl::Status status,
                               std::shared_ptr<google::protobuf::Message> reply,
                               const HttpRespond& respond) {
  boost::asio::post(http_io_, [status = std::move(status), reply, respond] {
    if (!status.ok()) return respond(HttpErrorFromStatus(status));
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(*reply, &json);
    json += '\n';
    respond(HttpResponse{200, kJson, std::move(json)});
  });
}

}  // namespace ccr
