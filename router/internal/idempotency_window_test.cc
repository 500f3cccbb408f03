// IdempotencyWindow against a std::map model, driven by seeded random
// operation sequences.
#include "router/internal/idempotency_window.h"

#include <map>
#include <random>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

TEST(IdempotencyWindowTest, MatchesModelOverRandomOperations) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    IdempotencyWindow w;
    struct Kept {
      absl::Time expires;
      ContactId contact = 0;  // also the insertion order
    };
    std::map<std::string, Kept> model;
    absl::Time now = absl::FromUnixSeconds(1000);
    absl::Duration window = absl::Seconds(50);
    ContactId next = 1;
    // The entry that expires first; among equal expiries (a reload clamped
    // them), the one added first.
    auto oldest = [&] {
      auto first = model.begin();
      for (auto it = model.begin(); it != model.end(); ++it) {
        if (std::tie(it->second.expires, it->second.contact) <
            std::tie(first->second.expires, first->second.contact)) {
          first = it;
        }
      }
      return first;
    };
    for (int op = 0; op < 3000; ++op) {
      const uint32_t choice = rng() % 10;
      const std::string key = absl::StrCat("k", rng() % 300);
      if (choice < 5) {  // submit, as Router::Submit does: refused when the key is kept
        if (model.contains(key)) {
          ASSERT_NE(w.Find(key), nullptr);
          EXPECT_EQ(w.Find(key)->contact, model[key].contact);
          continue;
        }
        IdempotencyEntry& e = w.Add(key, now + window);
        e.contact = next;
        model[key] = {now + window, next++};
      } else if (choice < 8) {  // time passes; expired keys go, oldest first
        now += absl::Seconds(rng() % 10);
        while (w.size() > 0 && w.next_expiry() <= now) {
          auto first = oldest();
          ASSERT_EQ(w.next_expiry(), first->second.expires);
          w.ExpireOldest();
          EXPECT_EQ(w.Find(first->first), nullptr);
          model.erase(first);
        }
        EXPECT_EQ(w.size(), model.size());
      } else if (choice < 9) {  // a reload shortens (or keeps) the window
        window = absl::Seconds(10 + rng() % 50);
        w.ClampExpiries(now + window);
        for (auto& [k, e] : model) e.expires = std::min(e.expires, now + window);
      } else {  // lookups
        const IdempotencyEntry* e = w.Find(key);
        ASSERT_EQ(e != nullptr, model.contains(key));
        EXPECT_EQ(w.Contains(key), model.contains(key));
        if (e != nullptr) {
          EXPECT_EQ(e->contact, model[key].contact);
          EXPECT_EQ(e->expires, model[key].expires);
        }
      }
      ASSERT_EQ(w.size(), model.size());
      if (op % 100 == 0) {
        ASSERT_TRUE(w.CheckInvariants().ok()) << w.CheckInvariants();
      }
    }
    for (const auto& [key, entry] : w.entries()) {
      ASSERT_TRUE(model.contains(std::string(key)));
      EXPECT_EQ(entry.expires, model[std::string(key)].expires);
    }
  }
}

TEST(IdempotencyWindowTest, EmptyWindowHasNoExpiry) {
  IdempotencyWindow w;
  EXPECT_EQ(w.next_expiry(), absl::InfiniteFuture());
  EXPECT_EQ(w.Find("x"), nullptr);
  EXPECT_TRUE(w.CheckInvariants().ok());
}

}  // namespace
}  // namespace ccr
