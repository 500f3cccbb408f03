// StandbyHttpAnswer: what a standby's HTTP port answers while another node
// owns routing (its gRPC port answers with StandbyResponder). A web client
// is sent where it can be served: the API (`/v1/...`, the agent desk's
// WebSocket included) and the pages get `307 Temporary Redirect` to the same
// path and query on the owner's HTTP address, which keeps the method and the
// body, so a retried `POST /v1/contacts` with its `Idempotency-Key` lands on
// the owner once. The body is the JSON error (or text) a client that does not
// follow redirects reads, and two headers name the owner for clients that
// redirect themselves: `ccrouter-owner` (its gRPC address, as the gRPC
// trailer) and `ccrouter-owner-http`.
// `/readyz` stays 503 (a load balancer sends nothing here); `/healthz` and
// `/metrics` are the caller's (they need no owner).
//
//   HttpResponse r = StandbyHttpAnswer(request, {.grpc_address = "10.0.0.7:7700",
//                                               .http_address = "10.0.0.7:7701"});
#ifndef CCROUTER_ENGINE_CLUSTER_STANDBY_HTTP_H_
#define CCROUTER_ENGINE_CLUSTER_STANDBY_HTTP_H_

#include "engine/cluster/standby_responder.h"  // OwnerAddresses
#include "engine/http_server.h"

namespace ccr::cluster {

// Response header naming the owner's HTTP address ("host:port").
inline constexpr char kOwnerHttpHeader[] = "ccrouter-owner-http";

HttpResponse StandbyHttpAnswer(const HttpRequest& request, const OwnerAddresses& owner);

}  // namespace ccr::cluster

#endif  // CCROUTER_ENGINE_CLUSTER_STANDBY_HTTP_H_
