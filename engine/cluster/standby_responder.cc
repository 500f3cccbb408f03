#include "engine/cluster/standby_responder.h"

#include "absl/strings/str_cat.h"

namespace ccr::cluster {
namespace {

// Finishes the call as soon as it is made; gone in OnDone.
class RedirectReactor final : public grpc::ServerGenericBidiReactor {
 public:
  RedirectReactor(grpc::GenericCallbackServerContext* context, const std::string& owner) {
    if (owner.empty()) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "standby: no owner elected yet; retry shortly"));
      return;
    }
    context->AddTrailingMetadata(kOwnerMetadataKey, owner);
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("standby: the owner is at ", owner)));
  }
  void OnDone() override { delete this; }
};

}  // namespace

void StandbyResponder::SetOwner(OwnerAddresses owner) {
  absl::MutexLock lock(&mu_);
  owner_ = std::move(owner);
}

OwnerAddresses StandbyResponder::owner() const {
  absl::MutexLock lock(&mu_);
  return owner_;
}

grpc::ServerGenericBidiReactor* StandbyResponder::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  calls_answered_.fetch_add(1, std::memory_order_relaxed);
  return new RedirectReactor(context, owner().grpc_address);
}

}  // namespace ccr::cluster
