// IdempotencyWindow: the idempotency keys of recent submits, each with the
// contact it created, until it expires (config idempotency_window). Private
// to router/.
//
// Each key is stored once, in the expiry deque (a deque never moves its
// elements on push_back / pop_front); the map's keys view them, and an entry
// leaves the map before its key leaves the deque. Expiries are non-decreasing
// along the deque (now + window, and a reload that shortens the window clamps
// the older ones), so the front expires first.
//
// What must hold (CheckInvariants): the map and the deque name the same keys
// with the same expiries, and the expiries never decrease along the deque.
#ifndef CCROUTER_ROUTER_INTERNAL_IDEMPOTENCY_WINDOW_H_
#define CCROUTER_ROUTER_INTERNAL_IDEMPOTENCY_WINDOW_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "router/router.h"

namespace ccr {

struct IdempotencyEntry {
  ContactId contact = 0;
  absl::Time expires;
  uint64_t request_digest = 0;  // of the gateway's request; 0: not known
  // Once the contact has ended: how, and in which queue (an index into the
  // router's ended_queue_names_). Kept small: there is one entry per contact.
  uint32_t ended_queue = 0;
  ContactState ended_state = ContactState::kQueued;
  bool ended = false;
};

class IdempotencyWindow {
 public:
  using Map = absl::flat_hash_map<absl::string_view, IdempotencyEntry>;

  // A new entry for `key`, expiring at `expires`, with `expires` filled in.
  // REQUIRES: `key` is not kept, and `expires` is no earlier than the last
  // entry's (the window only moves forward).
  IdempotencyEntry& Add(const std::string& key, absl::Time expires) {
    expiry_.push_back({expires, key});
    IdempotencyEntry& entry = entries_[expiry_.back().key];
    entry.expires = expires;
    return entry;
  }
  const IdempotencyEntry* Find(absl::string_view key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }
  IdempotencyEntry* Find(absl::string_view key) {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }
  bool Contains(absl::string_view key) const { return entries_.contains(key); }
  size_t size() const { return entries_.size(); }

  // When the oldest entry expires; InfiniteFuture when none is kept.
  absl::Time next_expiry() const {
    return expiry_.empty() ? absl::InfiniteFuture() : expiry_.front().expires;
  }
  // Forgets the entry that expires first. REQUIRES: size() > 0.
  void ExpireOldest() {
    entries_.erase(absl::string_view(expiry_.front().key));
    expiry_.pop_front();
  }
  // No entry lives past `latest` (a reload shortened the window).
  void ClampExpiries(absl::Time latest);

  // Every entry, in no particular order.
  const Map& entries() const { return entries_; }

  absl::Status CheckInvariants() const;

 private:
  struct Expiry {
    absl::Time expires;
    std::string key;
  };
  Map entries_;
  std::deque<Expiry> expiry_;
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_INTERNAL_IDEMPOTENCY_WINDOW_H_
