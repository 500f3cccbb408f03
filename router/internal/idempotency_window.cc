#include "router/internal/idempotency_window.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ccr {

void IdempotencyWindow::ClampExpiries(absl::Time latest) {
  for (Expiry& e : expiry_) e.expires = std::min(e.expires, latest);
  for (auto& [key, entry] : entries_) entry.expires = std::min(entry.expires, latest);
}

absl::Status IdempotencyWindow::CheckInvariants() const {
  if (entries_.size() != expiry_.size()) {
    return absl::InternalError(absl::StrCat("idempotency map holds ", entries_.size(),
                                            " keys, expiry order ", expiry_.size()));
  }
  absl::Time previous = absl::InfinitePast();
  for (size_t i = 0; i < expiry_.size(); ++i) {
    const Expiry& e = expiry_[i];
    auto it = entries_.find(absl::string_view(e.key));
    if (it == entries_.end() || it->first.data() != e.key.data()) {
      return absl::InternalError(absl::StrCat("idempotency key #", i, " is not in the map"));
    }
    if (it->second.expires != e.expires || e.expires < previous) {
      return absl::InternalError(absl::StrCat("idempotency key #", i, " expires out of order"));
    }
    previous = e.expires;
  }
  return absl::OkStatus();
}

}  // namespace ccr
