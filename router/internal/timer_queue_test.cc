// TimerQueue against a std::set model ordered by (time, sequence), driven by
// seeded random operation sequences.
#include "router/internal/timer_queue.h"

#include <random>
#include <set>
#include <tuple>

#include "gtest/gtest.h"

namespace ccr {
namespace {

// at, sequence, kind, contact, agent index
using Entry = std::tuple<absl::Time, uint64_t, TimerKind, ContactId, uint32_t>;

Entry Of(const Timer& t) {
  return {t.at, t.sequence, t.kind, t.contact, t.kind == TimerKind::kRestEnd ? t.agent_index : 0};
}

TEST(TimerQueueTest, MatchesModelOverRandomOperations) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    std::mt19937 rng(seed);
    TimerQueue q;
    std::set<Entry> model;
    uint64_t next_sequence = 1;
    absl::Time now = absl::FromUnixSeconds(1000);
    for (int op = 0; op < 3000; ++op) {
      const uint32_t choice = rng() % 10;
      const absl::Time at = now + absl::Seconds(rng() % 20);  // times collide often
      if (choice < 5) {
        Timer t = rng() % 3 == 0 ? Timer::RestEnd(at, rng() % 10)
                                 : Timer::ForContact(at, TimerKind::kWrapUpEnd, 1 + rng() % 100);
        q.Schedule(t);
        t.sequence = next_sequence++;
        model.insert(Of(t));
      } else if (choice < 8) {  // pop the first: earliest, then first set
        if (model.empty()) {
          EXPECT_TRUE(q.empty());
          EXPECT_EQ(q.next_at(), absl::InfiniteFuture());
          continue;
        }
        EXPECT_EQ(q.next_at(), std::get<0>(*model.begin()));
        const Timer t = q.PopFirst();
        EXPECT_EQ(Of(t), *model.begin());
        model.erase(model.begin());
        now = t.at;
      } else if (choice < 9) {
        for (TimerKind kind : {TimerKind::kRestEnd, TimerKind::kWrapUpEnd}) {
          bool expected = false;
          for (const Entry& e : model) {
            expected = expected || (std::get<0>(e) == at && std::get<2>(e) == kind);
          }
          EXPECT_EQ(q.HasAt(at, kind), expected);
        }
      } else {  // renumber agents as the retention sweep does: forget 0, move the rest down
        auto renumber = [](TimerKind kind, uint32_t& agent) {
          if (kind != TimerKind::kRestEnd) return true;
          if (agent == 0) return false;
          --agent;
          return true;
        };
        q.Rewrite([&](Timer& t) { return renumber(t.kind, t.agent_index); });
        std::set<Entry> rewritten;
        for (Entry e : model) {
          if (renumber(std::get<2>(e), std::get<4>(e))) rewritten.insert(e);
        }
        model = std::move(rewritten);
      }
      ASSERT_EQ(q.size(), model.size());
      if (op % 100 == 0) {
        ASSERT_TRUE(q.CheckInvariants().ok()) << q.CheckInvariants();
        std::set<Entry> held;
        for (const Timer& t : q) held.insert(Of(t));
        ASSERT_EQ(held, model);
      }
    }
    EXPECT_EQ(q.next_sequence(), next_sequence);
  }
}

TEST(TimerQueueTest, RestoredTimersKeepTheirSequence) {
  TimerQueue q;
  q.set_next_sequence(10);
  Timer late = Timer::ForContact(absl::FromUnixSeconds(5), TimerKind::kExpire, 1);
  late.sequence = 7;
  Timer early = Timer::ForContact(absl::FromUnixSeconds(5), TimerKind::kExpire, 2);
  early.sequence = 3;
  q.Restore(late);
  q.Restore(early);
  q.Schedule(Timer::ForContact(absl::FromUnixSeconds(5), TimerKind::kExpire, 3));
  EXPECT_TRUE(q.CheckInvariants().ok());
  EXPECT_EQ(q.PopFirst().contact, 2u);
  EXPECT_EQ(q.PopFirst().contact, 1u);
  const Timer third = q.PopFirst();
  EXPECT_EQ(third.contact, 3u);
  EXPECT_EQ(third.sequence, 10u);
}

TEST(TimerQueueTest, DuplicateOrUnissuedSequenceBreaksTheInvariant) {
  TimerQueue q;
  q.set_next_sequence(5);
  Timer t = Timer::RestEnd(absl::FromUnixSeconds(1), 0);
  t.sequence = 5;  // not issued yet
  q.Restore(t);
  EXPECT_FALSE(q.CheckInvariants().ok());
}

}  // namespace
}  // namespace ccr
