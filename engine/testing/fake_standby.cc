#include "engine/testing/fake_standby.h"

#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "codec/owner_redirect.h"

namespace ccr::testing {
namespace {

// One call: finished in the constructor, before reading anything, which is
// what a standby does; deletes itself when gRPC is done with it.
class RedirectReactor final : public grpc::ServerGenericBidiReactor {
 public:
  RedirectReactor(grpc::CallbackServerContext* context, const std::string& owner) {
    if (owner.empty()) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "standby: no owner elected yet"));
      return;
    }
    context->AddTrailingMetadata(kOwnerMetadataKey, owner);
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("standby: the owner is at ", owner)));
  }
  void OnDone() override { delete this; }
};

}  // namespace

class FakeStandby::Service final : public grpc::CallbackGenericService {
 public:
  Service(std::string owner, std::atomic<int>& calls) : owner_(std::move(owner)), calls_(calls) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    calls_.fetch_add(1);
    return new RedirectReactor(context, owner_);
  }

 private:
  const std::string owner_;
  std::atomic<int>& calls_;
};

FakeStandby::FakeStandby(std::string owner)
    : service_(std::make_unique<Service>(std::move(owner), calls_)) {
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    std::cerr << "FakeStandby: cannot listen on 127.0.0.1\n";
    std::abort();
  }
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeStandby::~FakeStandby() { server_->Shutdown(); }

}  // namespace ccr::testing
