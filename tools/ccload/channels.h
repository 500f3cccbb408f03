// The gRPC channels ccload's clients talk over.
#ifndef CCR_TOOLS_CCLOAD_CHANNELS_H_
#define CCR_TOOLS_CCLOAD_CHANNELS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace ccr::load {

// Agents that share one channel (one HTTP/2 connection): enough streams per
// connection to keep the count of connections small at 100k agents, few
// enough that one connection's flow control does not pace them all.
inline constexpr int kAgentsPerChannel = 1000;

// A channel with a connection of its own (not shared with other channels to
// the same address), keepalive within what the engine accepts: it pings
// every 10 s and accepts client pings every 4 s or more.
std::shared_ptr<grpc::Channel> OpenChannel(const std::string& server);

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_CHANNELS_H_
