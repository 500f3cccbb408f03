#include "tools/ccload/channels.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ccrouter/v1/admin.grpc.pb.h"
#include "codec/owner_redirect.h"

namespace ccr::load {
namespace {

using Clock = std::chrono::steady_clock;

// Between rounds of FindOwner in which every address failed.
constexpr auto kRoundPause = std::chrono::milliseconds(200);

std::chrono::system_clock::time_point SystemDeadline(Clock::time_point deadline) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(deadline - Clock::now());
}

}  // namespace

void AddToken(grpc::ClientContext& context) {
  if (const char* token = std::getenv("CCROUTER_TOKEN"); token != nullptr && *token != 0) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& server) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20'000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  return grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), arguments);
}

std::shared_ptr<grpc::Channel> ChannelsByAddress::Get(const std::string& address, int shard) {
  absl::MutexLock lock(&mu_);
  auto key = std::make_pair(address, shard);
  if (auto it = channels_.find(key); it != channels_.end()) return it->second;
  if (!addresses_.contains(address)) {
    if (addresses_.size() >= kMaxAddresses) return nullptr;
    addresses_.insert(address);
  }
  std::shared_ptr<grpc::Channel> channel = OpenChannel(address);
  channels_.emplace(std::move(key), channel);
  return channel;
}

OwnerFound FindOwner(const std::vector<std::string>& servers, double timeout_seconds,
                     double rpc_timeout_seconds,
                     const std::function<bool(Clock::duration)>& pause) {
  const Clock::time_point give_up =
      Clock::now() +
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_seconds));
  const auto rpc_timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(rpc_timeout_seconds));
  ServerList list(servers);
  OwnerFound found;
  for (;;) {
    found.address = list.current();
    auto admin = ccrouter::v1::Admin::NewStub(OpenChannel(found.address));
    grpc::ClientContext context;
    AddToken(context);
    context.set_deadline(SystemDeadline(std::min(give_up, Clock::now() + rpc_timeout)));
    found.queues.Clear();
    found.status = admin->ListQueues(&context, ccrouter::v1::ListQueuesRequest(), &found.queues);
    if (found.status.error_code() != grpc::StatusCode::UNAVAILABLE) return found;
    // Bounded: one entry per attempt of one round.
    if (std::optional<std::string> owner = OwnerFromTrailers(context.GetServerTrailingMetadata());
        owner.has_value() && list.OnRedirect(*owner)) {
      found.failed_attempts.push_back(
          absl::StrCat(found.address, " (a standby; the owner is at ", *owner, ")"));
      continue;
    }
    found.failed_attempts.push_back(
        absl::StrCat(found.address, " (", found.status.error_message(), ")"));
    if (list.OnUnreachable()) continue;
    list.OnConnected();  // a new round: redirects and unreachable counts start again
    if (Clock::now() + kRoundPause >= give_up || pause(kRoundPause)) return found;
    found.failed_attempts.clear();  // the error message tells the last round
  }
}

}  // namespace ccr::load
