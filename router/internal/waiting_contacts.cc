#include "router/internal/waiting_contacts.h"

#include <algorithm>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace ccr {

namespace {
// An order-statistic tree, so a contact's position costs O(log n).
using ContactBucket =
    __gnu_pbds::tree<ContactKey, __gnu_pbds::null_type, std::less<ContactKey>,
                     __gnu_pbds::rb_tree_tag, __gnu_pbds::tree_order_statistics_node_update>;
}  // namespace

struct WaitingContacts::Buckets {
  absl::flat_hash_map<uint64_t, ContactBucket> map;
};

WaitingContacts::WaitingContacts() : buckets_(std::make_unique<Buckets>()) {}
WaitingContacts::~WaitingContacts() = default;
WaitingContacts::WaitingContacts(WaitingContacts&&) noexcept = default;
WaitingContacts& WaitingContacts::operator=(WaitingContacts&&) noexcept = default;

void WaitingContacts::Insert(uint64_t bucket, const ContactKey& key) {
  buckets_->map[bucket].insert(key);
  const uint32_t queue = BucketQueue(bucket);
  if (queue >= nonempty_.size()) nonempty_.resize(queue + 1);
  nonempty_[queue].insert(bucket);
  ++size_;
}

void WaitingContacts::Erase(uint64_t bucket, const ContactKey& key) {
  auto it = buckets_->map.find(bucket);
  // Erasing what is not there would leave size_ and the non-empty bucket
  // sets counting a contact the buckets no longer hold.
  CCR_CHECK(it != buckets_->map.end()) << "bucket " << bucket << " holds no contacts";
  CCR_CHECK(it->second.erase(key) == 1) << "contact " << key.id << " is not in bucket " << bucket;
  --size_;
  if (it->second.empty()) {
    buckets_->map.erase(it);
    nonempty_[BucketQueue(bucket)].erase(bucket);
  }
}

bool WaitingContacts::Contains(uint64_t bucket, const ContactKey& key) const {
  auto it = buckets_->map.find(bucket);
  return it != buckets_->map.end() && it->second.find(key) != it->second.end();
}

uint32_t WaitingContacts::CountAhead(uint32_t queue, const ContactKey& key) const {
  uint32_t ahead = 0;
  for (uint64_t bucket : NonEmptyBuckets(queue)) {
    ahead += buckets_->map.find(bucket)->second.order_of_key(key);
  }
  return ahead;
}

WaitingContacts::Heads WaitingContacts::BestHeads(const Taker& taker,
                                                  absl::FunctionRef<bool(const ContactKey&)> skip,
                                                  int max_skips) const {
  Heads heads;
  for (uint64_t bucket : NonEmptyBuckets(taker.queue)) {
    if (BucketStage(bucket) < taker.first_stage || (BucketSpecial(bucket) & ~taker.special) != 0 ||
        !std::binary_search(taker.languages.begin(), taker.languages.end(),
                            BucketLanguage(bucket))) {
      continue;
    }
    int skips = 0;
    for (const ContactKey& k : buckets_->map.find(bucket)->second) {
      if (skip(k)) {
        if (++skips > max_skips) break;
        continue;
      }
      if (heads.best == nullptr || k < *heads.best) heads.best = &k;
      if (!BucketPastTarget(bucket) && (heads.in_time == nullptr || k < *heads.in_time)) {
        heads.in_time = &k;
      }
      break;
    }
  }
  return heads;
}

absl::Status WaitingContacts::CheckInvariants() const {
  size_t counted = 0;
  size_t listed = 0;
  for (const auto& [bucket, contacts] : buckets_->map) {
    if (contacts.empty()) return absl::InternalError(absl::StrCat("bucket ", bucket, " is empty"));
    counted += contacts.size();
    const uint32_t queue = BucketQueue(bucket);
    if (queue >= nonempty_.size() || !nonempty_[queue].contains(bucket)) {
      return absl::InternalError(absl::StrCat("bucket ", bucket, " is not listed as non-empty"));
    }
  }
  for (uint32_t queue = 0; queue < nonempty_.size(); ++queue) {
    for (uint64_t bucket : nonempty_[queue]) {
      ++listed;
      if (BucketQueue(bucket) != queue || !buckets_->map.contains(bucket)) {
        return absl::InternalError(
            absl::StrCat("queue ", queue, " lists bucket ", bucket, " that it does not hold"));
      }
    }
  }
  if (listed != buckets_->map.size()) {
    return absl::InternalError(
        absl::StrCat(listed, " buckets listed as non-empty, ", buckets_->map.size(), " held"));
  }
  if (counted != size_) {
    return absl::InternalError(absl::StrCat("buckets hold ", counted, " contacts, size ", size_));
  }
  return absl::OkStatus();
}

}  // namespace ccr
