// WaitingContacts: the contacts waiting in queues (not those reserved for a
// dedicated advisor), in buckets keyed by BucketKey(queue, overflow stage,
// language, required special skills, past its target). Private to router/.
//
// Each bucket is ordered by ContactKey: emergencies first, then by rank = SLA
// deadline minus urgency x seconds_per_point. Any agent eligible for a bucket
// is eligible for every contact in it, so a bucket's head is its best contact
// for that agent, and a free agent compares only bucket heads. Contacts past
// their target wait in buckets of their own, so the best contact still in
// time is a bucket head too (BestHeads).
//
// What must hold (CheckInvariants): no bucket is empty; a queue's non-empty
// bucket set names exactly the buckets of that queue; size() counts every
// contact once. The order-statistic tree behind a bucket (so a position costs
// O(log n)) is an implementation detail of waiting_contacts.cc.
#ifndef CCROUTER_ROUTER_INTERNAL_WAITING_CONTACTS_H_
#define CCROUTER_ROUTER_INTERNAL_WAITING_CONTACTS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "router/types.h"

namespace ccr {

struct ContactKey {
  uint8_t priority_class = 1;  // 0: emergency
  int64_t rank_ms = 0;
  ContactId id = 0;
  friend bool operator<(const ContactKey& a, const ContactKey& b) {
    return std::tie(a.priority_class, a.rank_ms, a.id) <
           std::tie(b.priority_class, b.rank_ms, b.id);
  }
  friend bool operator==(const ContactKey& a, const ContactKey& b) {
    return a.priority_class == b.priority_class && a.rank_ms == b.rank_ms && a.id == b.id;
  }
};

// (queue, stage, language, special skills, past target) packed into one hash
// key: past target (the contacts' SLA deadline has passed) in bit 56, queue in
// bits 40..55, stage in 32..39, language in 8..31, special skills in 0..7.
inline uint64_t BucketKey(uint32_t queue, uint32_t stage, uint32_t language, uint8_t special,
                          bool past_target) {
  return (uint64_t{past_target} << 56) | (uint64_t{queue} << 40) | (uint64_t{stage} << 32) |
         (uint64_t{language} << 8) | special;
}
inline uint32_t BucketQueue(uint64_t k) { return (k >> 40) & 0xffff; }
inline bool BucketPastTarget(uint64_t k) { return (k >> 56) & 1; }
inline uint32_t BucketStage(uint64_t k) { return (k >> 32) & 0xff; }
inline uint32_t BucketLanguage(uint64_t k) { return (k >> 8) & 0xffffff; }
inline uint8_t BucketSpecial(uint64_t k) { return k & 0xff; }

class WaitingContacts {
 public:
  WaitingContacts();
  ~WaitingContacts();
  WaitingContacts(WaitingContacts&&) noexcept;
  WaitingContacts& operator=(WaitingContacts&&) noexcept;

  // REQUIRES: `key` is not in `bucket`.
  void Insert(uint64_t bucket, const ContactKey& key);
  // REQUIRES: `key` is in `bucket`. A bucket left empty is dropped.
  void Erase(uint64_t bucket, const ContactKey& key);
  bool Contains(uint64_t bucket, const ContactKey& key) const;
  size_t size() const { return size_; }

  // The keys of the non-empty buckets of `queue`, in no particular order.
  const absl::flat_hash_set<uint64_t>& NonEmptyBuckets(uint32_t queue) const {
    return queue < nonempty_.size() ? nonempty_[queue] : none_;
  }
  // How many contacts of `queue`, over all its buckets, rank ahead of `key`.
  uint32_t CountAhead(uint32_t queue, const ContactKey& key) const;
  // What an agent may take from one queue: buckets at `first_stage` or later,
  // needing no special skill beyond `special`, in one of `languages`.
  struct Taker {
    uint32_t queue = 0;
    uint32_t first_stage = 0;
    uint8_t special = 0;
    absl::Span<const uint32_t> languages;  // sorted
  };
  // Over the buckets `taker` may take from, each bucket's first contact in
  // rank order that `skip` does not pass over: the best of all (`best`) and
  // the best of those not past their target (`in_time`; nullptr when every
  // one is past it). A bucket where more than `max_skips` were skipped first
  // counts as having none (which bounds the cost for an agent excluded from
  // many heads). The pointers are valid until the buckets change.
  struct Heads {
    const ContactKey* best = nullptr;
    const ContactKey* in_time = nullptr;
  };
  Heads BestHeads(const Taker& taker, absl::FunctionRef<bool(const ContactKey&)> skip,
                  int max_skips) const;

  absl::Status CheckInvariants() const;

 private:
  struct Buckets;  // the order-statistic trees, in waiting_contacts.cc
  std::unique_ptr<Buckets> buckets_;
  // [queue]: keys of its non-empty buckets (grown on demand).
  std::vector<absl::flat_hash_set<uint64_t>> nonempty_;
  absl::flat_hash_set<uint64_t> none_;  // what a queue without waiting contacts lists
  size_t size_ = 0;
};

}  // namespace ccr

#endif  // CCROUTER_ROUTER_INTERNAL_WAITING_CONTACTS_H_
