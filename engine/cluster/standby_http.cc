#include "engine/cluster/standby_http.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "codec/owner_redirect.h"
#include "engine/web/http_status.h"

namespace ccr::cluster {

HttpResponse StandbyHttpAnswer(const HttpRequest& request, const OwnerAddresses& owner) {
  const bool api = absl::StartsWith(request.path, "/v1/");
  std::string where;
  if (owner.grpc_address.empty()) {
    where = "no owner elected yet; retry shortly";
  } else if (!owner.http_address.empty()) {
    where = absl::StrCat("the owner is at http://", owner.http_address);
  } else {
    where = absl::StrCat("the owner is at ", owner.grpc_address, " (gRPC)");
  }
  HttpResponse response =
      api ? HttpErrorFromStatus(absl::UnavailableError(absl::StrCat("standby: ", where)))
          : HttpResponse{503, "text/plain; charset=utf-8", absl::StrCat("standby: ", where, "\n")};
  if (owner.grpc_address.empty()) {
    response.headers.emplace_back("Retry-After", "1");
    return response;
  }
  response.headers.emplace_back(kOwnerMetadataKey, owner.grpc_address);
  if (owner.http_address.empty()) return response;
  response.headers.emplace_back(kOwnerHttpHeader, owner.http_address);
  if (request.path == "/readyz") return response;  // not ready: this node serves nothing
  response.status = 307;
  std::string location = absl::StrCat("http://", owner.http_address, request.path);
  if (!request.query.empty()) absl::StrAppend(&location, "?", request.query);
  response.headers.emplace_back("Location", std::move(location));
  return response;
}

}  // namespace ccr::cluster
