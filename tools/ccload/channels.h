// The gRPC channels ccload's clients talk over, and how they find the owner
// in cluster mode (a standby answers UNAVAILABLE naming the owner in the
// `ccrouter-owner` trailer; codec/owner_redirect.h).
#ifndef CCR_TOOLS_CCLOAD_CHANNELS_H_
#define CCR_TOOLS_CCLOAD_CHANNELS_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "ccrouter/v1/admin.pb.h"

namespace ccr::load {

// Agents that share one channel (one HTTP/2 connection): enough streams per
// connection to keep the count of connections small at 100k agents (400),
// few enough that one connection's flow control does not pace them all and
// that the engine, which serves all of a connection's streams on one of its
// --desk-queues, can spread 10k agents evenly (40 connections over 4 queues).
inline constexpr int kAgentsPerChannel = 250;

// A channel with a connection of its own (not shared with other channels to
// the same address), keepalive within what the engine accepts: it pings
// every 10 s and accepts client pings every 4 s or more.
std::shared_ptr<grpc::Channel> OpenChannel(const std::string& server);

// The bearer token from CCROUTER_TOKEN (as ccctl reads it: an environment
// variable, so it never shows in a process listing) as every call's
// `authorization`, for an engine with auth on; nothing when unset.
void AddToken(grpc::ClientContext& context);

// Channels to the addresses clients move to (the listed nodes, the owners
// redirects name), opened on first use and shared by every client after
// that: one per address and shard, so agents that move keep to
// kAgentsPerChannel on a connection (shard = agent index / kAgentsPerChannel).
// Thread-safe. Holds every channel until destroyed, so a client's last
// reference never goes on a gRPC callback thread (a channel's destructor
// there would join the thread it runs on).
class ChannelsByAddress {
 public:
  // Distinct addresses kept; beyond it Get returns null for a new one (a
  // redirect naming ever new addresses is a broken cluster, not a reason to
  // open channels without end). Shards are bounded by the callers (agents /
  // kAgentsPerChannel).
  static constexpr size_t kMaxAddresses = 64;

  // The channel to `address` for `shard`, or null when it would be address
  // kMaxAddresses + 1.
  std::shared_ptr<grpc::Channel> Get(const std::string& address, int shard = 0)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  std::set<std::string> addresses_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, int>, std::shared_ptr<grpc::Channel>> channels_
      ABSL_GUARDED_BY(mu_);
};

// What the preflight found at the owner.
struct OwnerFound {
  // The address that answered Admin.ListQueues with anything but
  // UNAVAILABLE (the owner, or a server that is not ccrouterd); else the
  // last one tried.
  std::string address;
  grpc::Status status;  // of ListQueues there
  ccrouter::v1::ListQueuesReply queues;
  // Each attempt that did not answer: "ADDR (why)", for the error message.
  std::vector<std::string> failed_attempts;
};

// Calls Admin.ListQueues at `servers` in turn, following a standby's
// redirect to the owner (at most kMaxOwnerRedirects in a row), until an
// address answers or `timeout_seconds` pass. After a round in which every
// listed address failed it waits a moment by `pause` (true: stop now, e.g.
// Ctrl-C) and goes round again, so an engine still starting is found. Each
// call is bounded by `rpc_timeout_seconds` and the overall timeout.
// REQUIRES: `servers` non-empty.
OwnerFound FindOwner(const std::vector<std::string>& servers, double timeout_seconds,
                     double rpc_timeout_seconds,
                     const std::function<bool(std::chrono::steady_clock::duration)>& pause);

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_CHANNELS_H_
