// The client side of cluster mode's owner redirect. In cluster mode one
// ccrouterd node owns routing; a standby answers every call with UNAVAILABLE
// and, when it knows the owner, the trailing metadata `ccrouter-owner:
// HOST:PORT` (the owner's gRPC address). Clients take a list of addresses
// (`--server a:7700,b:7700`) and follow that redirect. This header holds the
// contract and the pure "which address next" policy; no gRPC here (codec
// does not link gRPC), so every tool and test can use it.
//
//   absl::StatusOr<std::vector<std::string>> addresses = ParseServerList("--server", flag);
//   ServerList servers(*std::move(addresses));
//   for (;;) {
//     Call(servers.current());
//     if (ok) { servers.OnConnected(); break; }
//     if (unavailable && owner.has_value() && servers.OnRedirect(*owner)) continue;
//     if (unavailable && servers.OnUnreachable()) continue;
//     break;  // report the failure, naming servers.current()
//   }
#ifndef CCR_CODEC_OWNER_REDIRECT_H_
#define CCR_CODEC_OWNER_REDIRECT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ccr {

// The trailing metadata key a standby names the owner in (lower case, as
// gRPC requires of metadata keys).
inline constexpr char kOwnerMetadataKey[] = "ccrouter-owner";

// A server list flag names at most this many addresses.
inline constexpr size_t kMaxServerAddresses = 16;

// Redirects one attempt follows before it gives up: one is the normal case
// (standby -> owner); the second covers an ownership change meanwhile; more
// would mean two nodes naming each other.
inline constexpr int kMaxOwnerRedirects = 2;

// OK when `address` is HOST:PORT: a host name, an IPv4 address or a
// bracketed IPv6 address, then a port 1..65535. The error names `flag` and
// the address.
absl::Status CheckServerAddress(absl::string_view flag, absl::string_view address);

// Parses "host:port,host:port" (spaces around the commas allowed), each
// address checked by CheckServerAddress; at least one, at most
// kMaxServerAddresses, no address twice. Errors name `flag` and the bad
// address.
absl::StatusOr<std::vector<std::string>> ParseServerList(absl::string_view flag,
                                                         absl::string_view text);

// Inside the engine an ending that should send the client to the owner is an
// absl::Status carrying the owner's address as this payload; the transport
// turns it into the `ccrouter-owner` trailer (gRPC) or its own equivalent.
inline constexpr char kOwnerStatusPayload[] = "type.ccrouter.dev/ccrouter-owner";

// `status` naming `owner_address` as the owner clients should go to. An empty
// address (no owner known yet) leaves `status` as it is.
absl::Status WithOwner(absl::Status status, absl::string_view owner_address);
// The owner a status names (WithOwner), if any.
std::optional<std::string> OwnerOf(const absl::Status& status);

// The owner named in a call's trailing metadata, if any. `trailers` is any
// multimap from key to value whose values have data() and size() (gRPC's
// ClientContext::GetServerTrailingMetadata() result), so this header needs
// no gRPC. An address that fails CheckServerAddress counts as none.
template <typename Trailers>
std::optional<std::string> OwnerFromTrailers(const Trailers& trailers) {
  const auto it = trailers.find(kOwnerMetadataKey);
  if (it == trailers.end()) return std::nullopt;
  std::string owner(it->second.data(), it->second.size());
  if (!CheckServerAddress(kOwnerMetadataKey, owner).ok()) return std::nullopt;
  return owner;
}

// Which address a client talks to next. Starts at the first listed address.
// A redirect moves to the owner it names (which need not be listed), at most
// `max_redirects` times until the next OnConnected(); an unreachable address
// (or a standby that knows no owner) moves round-robin to the next listed
// one. Not thread-safe: one caller at a time.
class ServerList {
 public:
  // REQUIRES: `addresses` non-empty (ParseServerList's result).
  explicit ServerList(std::vector<std::string> addresses, int max_redirects = kMaxOwnerRedirects);

  // The address to call now.
  const std::string& current() const;
  const std::vector<std::string>& addresses() const { return addresses_; }

  // The address answered: redirect and unreachable counts start again.
  void OnConnected();

  // current() answered UNAVAILABLE naming `owner`. True: current() is now
  // the owner. False (nothing changed): the redirect limit is reached, or
  // `owner` is current() itself (a node naming itself is no way forward).
  bool OnRedirect(absl::string_view owner);

  // current() could not be reached, or answered UNAVAILABLE naming no owner.
  // Moves to the next listed address (after a redirect target: back to the
  // list where it left it). False when every listed address has failed since
  // the last OnConnected(): one round is done, the caller decides whether
  // to go round again (it still moved on).
  bool OnUnreachable();

 private:
  const std::vector<std::string> addresses_;
  const int max_redirects_;
  size_t index_ = 0;                     // into addresses_
  std::optional<std::string> redirect_;  // set: current() is this owner
  int redirects_ = 0;                    // since OnConnected()
  size_t unreachable_ = 0;               // listed addresses failed since OnConnected()
};

}  // namespace ccr

#endif  // CCR_CODEC_OWNER_REDIRECT_H_
