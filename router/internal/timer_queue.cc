#include "router/internal/timer_queue.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace ccr {

bool TimerQueue::HasAt(absl::Time at, TimerKind kind) const {
  Timer first;
  first.at = at;
  first.sequence = 0;
  for (auto it = timers_.lower_bound(first); it != timers_.end() && it->at == at; ++it) {
    if (it->kind == kind) return true;
  }
  return false;
}

bool TimerQueue::HasAt(absl::Time at, TimerKind kind, ContactId contact, uint32_t epoch) const {
  Timer first;
  first.at = at;
  first.sequence = 0;
  for (auto it = timers_.lower_bound(first); it != timers_.end() && it->at == at; ++it) {
    if (it->kind == kind && it->contact == contact && it->epoch == epoch) return true;
  }
  return false;
}

void TimerQueue::Rewrite(absl::FunctionRef<bool(Timer&)> rewrite) {
  absl::btree_set<Timer> kept;
  for (Timer t : timers_) {
    if (rewrite(t)) kept.insert(kept.end(), t);
  }
  timers_ = std::move(kept);
}

absl::Status TimerQueue::CheckInvariants() const {
  absl::flat_hash_set<uint64_t> sequences;
  for (const Timer& t : timers_) {
    if (t.sequence >= next_sequence_ || !sequences.insert(t.sequence).second) {
      return absl::InternalError(absl::StrCat("timer sequence ", t.sequence,
                                              " is duplicate or not below ", next_sequence_));
    }
  }
  return absl::OkStatus();
}

}  // namespace ccr
