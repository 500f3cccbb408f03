#include "codec/owner_redirect.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ccr {

absl::Status WithOwner(absl::Status status, absl::string_view owner_address) {
  if (!owner_address.empty() && !status.ok()) {
    status.SetPayload(kOwnerStatusPayload, absl::Cord(owner_address));
  }
  return status;
}

std::optional<std::string> OwnerOf(const absl::Status& status) {
  const auto owner = status.GetPayload(kOwnerStatusPayload);  // absl::optional<absl::Cord>
  if (!owner.has_value()) return std::nullopt;
  return std::string(*owner);
}
namespace {

bool IsHostNameChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_'; }

bool IsIpv6Char(char c) { return absl::ascii_isxdigit(c) || c == ':' || c == '.'; }

absl::Status BadAddress(absl::string_view flag, absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": \"", address, "\" is not HOST:PORT (", why, ")"));
}

}  // namespace

absl::Status CheckServerAddress(absl::string_view flag, absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return BadAddress(flag, address, "no port");
  const absl::string_view host = address.substr(0, colon);
  const absl::string_view port_text = address.substr(colon + 1);
  int port = 0;
  if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535 ||
      !std::all_of(port_text.begin(), port_text.end(), absl::ascii_isdigit)) {
    return BadAddress(flag, address, "the port must be 1..65535");
  }
  if (host.empty()) return BadAddress(flag, address, "no host");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']' ||
        !std::all_of(host.begin() + 1, host.end() - 1, IsIpv6Char)) {
      return BadAddress(flag, address, "a bracketed IPv6 address is [hex:digits]");
    }
    return absl::OkStatus();
  }
  if (!std::all_of(host.begin(), host.end(), IsHostNameChar)) {
    return BadAddress(flag, address,
                      "a host is a name or an IPv4 address; an IPv6 address goes in brackets");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseServerList(absl::string_view flag,
                                                         absl::string_view text) {
  std::vector<std::string> addresses;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const absl::string_view address = absl::StripAsciiWhitespace(part);
    if (address.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": expected HOST:PORT[,HOST:PORT...], got an empty address in \"", text, "\""));
    }
    if (absl::Status status = CheckServerAddress(flag, address); !status.ok()) return status;
    if (std::find(addresses.begin(), addresses.end(), address) != addresses.end()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", address, "\" is listed twice"));
    }
    if (addresses.size() == kMaxServerAddresses) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": at most ", kMaxServerAddresses,
                                                     " addresses; \"", address,
                                                     "\" is one too many"));
    }
    addresses.emplace_back(address);
  }
  return addresses;
}

ServerList::ServerList(std::vector<std::string> addresses, int max_redirects)
    : addresses_(std::move(addresses)), max_redirects_(max_redirects) {
  assert(!addresses_.empty());
}

const std::string& ServerList::current() const {
  return redirect_.has_value() ? *redirect_ : addresses_[index_];
}

void ServerList::OnConnected() {
  redirects_ = 0;
  unreachable_ = 0;
}

bool ServerList::OnRedirect(absl::string_view owner) {
  if (redirects_ >= max_redirects_ || owner == current()) return false;
  ++redirects_;
  redirect_ = std::string(owner);
  return true;
}

bool ServerList::OnUnreachable() {
  // After a redirect target too the list moves on: the listed address that
  // redirected is a standby, and asking it again would only name the same
  // owner.
  redirect_.reset();
  index_ = (index_ + 1) % addresses_.size();
  ++unreachable_;
  return unreachable_ < addresses_.size();
}

}  // namespace ccr
