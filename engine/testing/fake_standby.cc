#include "engine/testing/fake_standby.h"

#include <cstdlib>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ccr::testing {

FakeStandby::FakeStandby(std::string owner) {
  responder_.SetOwner({std::move(owner), ""});
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&responder_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    std::cerr << "FakeStandby: cannot listen on 127.0.0.1\n";
    std::abort();
  }
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeStandby::~FakeStandby() { server_->Shutdown(); }

}  // namespace ccr::testing
