// WaitingContacts against a std::map / std::set model, driven by seeded
// random operation sequences (deterministic: the same seed, the same run).
#include "router/internal/waiting_contacts.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace ccr {
namespace {

struct Model {
  std::map<uint64_t, std::set<ContactKey>> buckets;  // never holds an empty set
};

uint64_t RandomBucket(std::mt19937& rng) {
  // Few distinct values per field, so buckets fill, share queues and empty out.
  return BucketKey(rng() % 3, rng() % 3, rng() % 2, static_cast<uint8_t>(rng() % 4), rng() % 2);
}

ContactKey RandomKey(std::mt19937& rng, ContactId id) {
  return ContactKey{static_cast<uint8_t>(rng() % 8 == 0 ? 0 : 1), static_cast<int64_t>(rng() % 50),
                    id};
}

void ExpectSame(const WaitingContacts& w, const Model& m) {
  ASSERT_TRUE(w.CheckInvariants().ok()) << w.CheckInvariants();
  size_t total = 0;
  for (const auto& [bucket, keys] : m.buckets) total += keys.size();
  EXPECT_EQ(w.size(), total);
  for (uint32_t queue = 0; queue < 4; ++queue) {  // queue 3 is never used
    std::set<uint64_t> expected;
    for (const auto& [bucket, keys] : m.buckets) {
      if (BucketQueue(bucket) == queue) expected.insert(bucket);
    }
    const auto& listed = w.NonEmptyBuckets(queue);
    EXPECT_EQ(std::set<uint64_t>(listed.begin(), listed.end()), expected) << "queue " << queue;
  }
}

TEST(WaitingContactsTest, MatchesModelOverRandomOperations) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    WaitingContacts w;
    Model m;
    std::vector<std::pair<uint64_t, ContactKey>> present;
    ContactId next_id = 1;
    for (int op = 0; op < 3000; ++op) {
      const uint32_t choice = rng() % 10;
      if (choice < 5 || present.empty()) {  // insert
        const uint64_t bucket = RandomBucket(rng);
        const ContactKey key = RandomKey(rng, next_id++);
        w.Insert(bucket, key);
        m.buckets[bucket].insert(key);
        present.emplace_back(bucket, key);
      } else if (choice < 8) {  // erase
        const size_t i = rng() % present.size();
        const auto [bucket, key] = present[i];
        present[i] = present.back();
        present.pop_back();
        w.Erase(bucket, key);
        m.buckets[bucket].erase(key);
        if (m.buckets[bucket].empty()) m.buckets.erase(bucket);
        EXPECT_FALSE(w.Contains(bucket, key));
      } else if (choice < 9) {  // position of a present contact, and of an absent key
        const auto& [bucket, key] = present[rng() % present.size()];
        EXPECT_TRUE(w.Contains(bucket, key));
        const ContactKey probe = rng() % 2 ? key : RandomKey(rng, next_id + 1000);
        const uint32_t queue = BucketQueue(bucket);
        uint32_t ahead = 0;
        for (const auto& [b, keys] : m.buckets) {
          if (BucketQueue(b) != queue) continue;
          for (const ContactKey& k : keys) ahead += k < probe ? 1 : 0;
        }
        EXPECT_EQ(w.CountAhead(queue, probe), ahead);
      } else {  // best head for an agent, passing over some contacts
        WaitingContacts::Taker taker;
        taker.queue = rng() % 3;
        taker.first_stage = rng() % 3;
        taker.special = static_cast<uint8_t>(rng() % 4);
        std::vector<uint32_t> languages;
        for (uint32_t l = 0; l < 2; ++l) {
          if (rng() % 2) languages.push_back(l);
        }
        taker.languages = languages;
        const uint64_t divisor = 1 + rng() % 3;
        const int max_skips = static_cast<int>(rng() % 4);
        auto skip = [&](const ContactKey& k) { return k.id % divisor == 0; };
        const ContactKey* expected = nullptr;
        const ContactKey* expected_in_time = nullptr;
        for (const auto& [bucket, keys] : m.buckets) {
          if (BucketQueue(bucket) != taker.queue || BucketStage(bucket) < taker.first_stage ||
              (BucketSpecial(bucket) & ~taker.special) != 0 ||
              std::find(languages.begin(), languages.end(), BucketLanguage(bucket)) ==
                  languages.end()) {
            continue;
          }
          int skips = 0;
          for (const ContactKey& k : keys) {
            if (!skip(k)) {
              if (expected == nullptr || k < *expected) expected = &k;
              if (!BucketPastTarget(bucket) &&
                  (expected_in_time == nullptr || k < *expected_in_time)) {
                expected_in_time = &k;
              }
              break;
            }
            if (++skips > max_skips) break;
          }
        }
        const WaitingContacts::Heads got = w.BestHeads(taker, skip, max_skips);
        ASSERT_EQ(got.best == nullptr, expected == nullptr);
        if (got.best != nullptr) {
          EXPECT_EQ(*got.best, *expected);
        }
        // The best of the buckets of contacts still in time, whether or not
        // one past its target ranks ahead of it.
        ASSERT_EQ(got.in_time == nullptr, expected_in_time == nullptr);
        if (got.in_time != nullptr) {
          EXPECT_EQ(*got.in_time, *expected_in_time);
        }
      }
      if (op % 100 == 0) ExpectSame(w, m);
    }
    ExpectSame(w, m);
    // Empty it: every bucket and every queue's listing goes.
    for (const auto& [bucket, key] : present) w.Erase(bucket, key);
    ExpectSame(w, Model{});
  }
}

TEST(WaitingContactsTest, UnknownQueueHasNoBuckets) {
  WaitingContacts w;
  EXPECT_TRUE(w.NonEmptyBuckets(7).empty());
  EXPECT_EQ(w.CountAhead(7, ContactKey{}), 0u);
  const std::vector<uint32_t> languages = {0};
  const WaitingContacts::Heads heads = w.BestHeads(
      {7, 0, 0, languages}, [](const ContactKey&) { return false; }, 0);
  EXPECT_EQ(heads.best, nullptr);
  EXPECT_EQ(heads.in_time, nullptr);
}

// Erasing a contact the index does not hold is a router bug: it stops the
// process instead of leaving size() and NonEmptyBuckets() counting it.
TEST(WaitingContactsDeathTest, ErasingWhatIsNotThereStops) {
  WaitingContacts w;
  const uint64_t bucket = BucketKey(0, 0, 0, 0, false);
  EXPECT_DEATH(w.Erase(bucket, ContactKey{1, 0, 5}), "bucket .* holds no contacts");
  w.Insert(bucket, ContactKey{1, 0, 4});
  EXPECT_DEATH(w.Erase(bucket, ContactKey{1, 0, 5}), "contact 5 is not in bucket");
  w.Erase(bucket, ContactKey{1, 0, 4});
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace ccr
