// Erlang C and Erlang A against hand-computed textbook values and against an
// independent numerical solution of the M/M/n+M birth-death chain.
#include "tools/ccsim/erlang.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace ccr::sim {
namespace {

// The obviously-correct model: the M/M/n+M queue as a birth-death chain
// truncated where its probabilities vanish, and a tagged arrival followed
// through the queue ahead of it.
struct ChainFigures {
  double p_wait = 0;
  double service_level = 0;
  double asa_seconds = 0;
  double abandon_ratio = 0;
};

ChainFigures SolveBirthDeath(int n, double lambda, double mu, double theta, double target) {
  // Stationary distribution, in logs: p_k = p_{k-1} lambda / death(k).
  std::vector<double> log_p = {0};
  double log_max = 0;
  for (int k = 1;; ++k) {
    const double death = std::min(k, n) * mu + std::max(0, k - n) * theta;
    log_p.push_back(log_p.back() + std::log(lambda / death));
    log_max = std::max(log_max, log_p.back());
    const bool past_mode = lambda < death;
    if (k > n && past_mode && log_p.back() < log_max - 60) break;
  }
  std::vector<double> p(log_p.size());
  double total = 0;
  for (size_t k = 0; k < p.size(); ++k) total += p[k] = std::exp(log_p[k] - log_max);
  for (double& x : p) x /= total;
  const int queue_states = static_cast<int>(p.size()) - n;  // j = 0 .. queue_states-1 ahead

  ChainFigures f;
  double queue_mean = 0;
  for (int j = 0; j < queue_states; ++j) {
    f.p_wait += p[n + j];
    queue_mean += j * p[n + j];
  }
  f.abandon_ratio = theta * queue_mean / lambda;  // abandonment flow over arrival flow

  // A tagged contact arriving with j ahead: each step the queue ahead moves
  // at rate r_j = n mu + j theta, the tagged contact gives up at rate theta.
  auto ahead_rate = [&](int j) { return n * mu + j * theta; };
  double answered = 1 - f.p_wait;      // answered at once
  double answered_wait = 0;            // sum of waits of answered contacts
  double served = 1, served_wait = 0;  // S_{j-1}, M_{j-1}
  for (int j = 0; j < queue_states; ++j) {
    const double out = ahead_rate(j) + theta;
    const double move = ahead_rate(j) / out;
    served_wait = move * (served / out + served_wait);
    served = move * served;
    answered += p[n + j] * served;
    answered_wait += p[n + j] * served_wait;
  }
  // Served within the target: uniformization of the same chain, started
  // from the distribution of contacts ahead.
  const double uniform_rate = ahead_rate(queue_states - 1) + theta;
  std::vector<double> mass(p.begin() + n, p.end());
  const double steps_mean = uniform_rate * target;
  const int steps = static_cast<int>(steps_mean + 12 * std::sqrt(steps_mean) + 50);
  double served_by_step = 0, served_within = 0;
  for (int k = 0; k <= steps; ++k) {
    const double poisson =
        std::exp(-steps_mean + k * std::log(std::max(steps_mean, 1e-300)) - std::lgamma(k + 1.0));
    served_within += poisson * served_by_step;  // served in at most k uniformized steps
    std::vector<double> next(mass.size(), 0);
    for (size_t j = 0; j < mass.size(); ++j) {
      const double forward = mass[j] * ahead_rate(static_cast<int>(j)) / uniform_rate;
      const double stay = mass[j] * (1 - (ahead_rate(static_cast<int>(j)) + theta) / uniform_rate);
      next[j] += stay;
      if (j == 0) {
        served_by_step += forward;
      } else {
        next[j - 1] += forward;
      }
    }
    mass.swap(next);
  }
  f.service_level = ((1 - f.p_wait) + served_within) / answered;
  f.asa_seconds = answered_wait / answered;
  return f;
}

ErlangInputs Inputs(double per_hour, double aht, int agents, double target, double patience = 0) {
  ErlangInputs in;
  in.arrivals_per_hour = per_hour;
  in.handle_seconds = aht;
  in.agents = agents;
  in.target_seconds = target;
  in.patience_seconds = patience;
  return in;
}

TEST(ErlangBTest, MatchesTheRecursionWorkedByHand) {
  // a = 5 Erlangs: B1 = 5/6 = .833333, B2 = 4.16667/6.16667 = .675676,
  // B3 = .529661, B4 = .398343, B5 = .284868, B6 = .191847, B7 = .120519.
  EXPECT_NEAR(ErlangB(1, 5), 0.833333, 1e-6);
  EXPECT_NEAR(ErlangB(7, 5), 0.120519, 1e-6);
  EXPECT_DOUBLE_EQ(ErlangB(0, 5), 1);
  // Large centres stay finite (no factorials): 1000 agents at 950 Erlangs.
  const double b = ErlangB(1000, 950);
  EXPECT_GT(b, 0);
  EXPECT_LT(b, 0.05);
}

TEST(ErlangCTest, TextbookCaseWorkedByHand) {
  // 100 calls/h x 180 s = 5 Erlangs on 7 agents, target 20 s.
  // C = 7 B7 / (7 - 5 (1 - B7)) = .843633 / 2.602595 = .324150
  // SL = 1 - C exp(-(7 - 5) / 180 x 20) = 1 - .324150 x .800737 = .740441
  // ASA = C / (2 / 180) = 29.1735 s
  absl::StatusOr<ErlangPrediction> p = PredictErlang(Inputs(100, 180, 7, 20));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->stable);
  EXPECT_NEAR(p->p_wait, 0.324150, 1e-5);
  EXPECT_NEAR(p->service_level, 0.740441, 1e-5);
  EXPECT_NEAR(p->asa_seconds, 29.1735, 1e-3);
  EXPECT_NEAR(p->occupancy, 5.0 / 7, 1e-12);
  EXPECT_EQ(p->abandon_ratio, 0);
}

TEST(ErlangCTest, OverloadIsUnstable) {
  absl::StatusOr<ErlangPrediction> p = PredictErlang(Inputs(100, 180, 5, 20));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->stable);
  EXPECT_EQ(p->p_wait, 1);
  EXPECT_EQ(p->service_level, 0);
  EXPECT_TRUE(std::isinf(p->asa_seconds));
}

TEST(ErlangCTest, AgreesWithTheBirthDeathChain) {
  for (int n : {1, 7, 50, 200}) {
    for (double load : {0.5, 0.8, 0.95}) {
      const double aht = 300, target = 20;
      const double per_hour = load * n * 3600 / aht;
      absl::StatusOr<ErlangPrediction> p = PredictErlang(Inputs(per_hour, aht, n, target));
      ASSERT_TRUE(p.ok());
      const ChainFigures chain = SolveBirthDeath(n, per_hour / 3600, 1 / aht, 0, target);
      SCOPED_TRACE(testing::Message() << n << " agents at " << load);
      EXPECT_NEAR(p->p_wait, chain.p_wait, 1e-9);
      EXPECT_NEAR(p->service_level, chain.service_level, 1e-9);
      EXPECT_NEAR(p->asa_seconds, chain.asa_seconds, 1e-7 * std::max(1.0, chain.asa_seconds));
    }
  }
}

TEST(ErlangATest, AgreesWithTheBirthDeathChain) {
  // Light to heavily overloaded, short and long patience, few and many agents.
  for (int n : {1, 10, 50, 200}) {
    for (double load : {0.5, 0.9, 1.0, 1.3}) {
      for (double patience : {30.0, 180.0, 1200.0}) {
        const double aht = 300, target = 20;
        const double per_hour = load * n * 3600 / aht;
        absl::StatusOr<ErlangPrediction> p =
            PredictErlang(Inputs(per_hour, aht, n, target, patience));
        ASSERT_TRUE(p.ok());
        const ChainFigures chain =
            SolveBirthDeath(n, per_hour / 3600, 1 / aht, 1 / patience, target);
        SCOPED_TRACE(testing::Message() << n << " agents at " << load << ", patience " << patience);
        EXPECT_TRUE(p->stable);
        EXPECT_NEAR(p->p_wait, chain.p_wait, 1e-7);
        EXPECT_NEAR(p->abandon_ratio, chain.abandon_ratio, 1e-7);
        EXPECT_NEAR(p->service_level, chain.service_level, 1e-7);
        EXPECT_NEAR(p->asa_seconds, chain.asa_seconds, 1e-6 * std::max(1.0, chain.asa_seconds));
      }
    }
  }
}

TEST(ErlangATest, VeryPatientCustomersGiveErlangC) {
  absl::StatusOr<ErlangPrediction> c = PredictErlang(Inputs(100, 180, 7, 20));
  absl::StatusOr<ErlangPrediction> a = PredictErlang(Inputs(100, 180, 7, 20, 1e7));
  ASSERT_TRUE(c.ok() && a.ok());
  EXPECT_NEAR(a->p_wait, c->p_wait, 1e-4);
  EXPECT_NEAR(a->service_level, c->service_level, 1e-4);
  EXPECT_NEAR(a->asa_seconds, c->asa_seconds, 1e-2);
  EXPECT_LT(a->abandon_ratio, 1e-4);
}

TEST(AgentsNeededTest, IsTheFewestReachingTheTarget) {
  // Textbook case: 7 agents give 74.0 %, so 8 are needed for 80 %.
  absl::StatusOr<int> needed = AgentsNeeded(Inputs(100, 180, 1, 20), 0.8);
  ASSERT_TRUE(needed.ok());
  EXPECT_EQ(*needed, 8);
  for (double patience : {0.0, 120.0}) {
    ErlangInputs in = Inputs(1500, 240, 1, 20, patience);
    absl::StatusOr<int> n = AgentsNeeded(in, 0.8);
    ASSERT_TRUE(n.ok());
    in.agents = *n;
    EXPECT_GE(PredictErlang(in)->service_level, 0.8);
    in.agents = *n - 1;
    const ErlangPrediction fewer = *PredictErlang(in);
    EXPECT_TRUE(!fewer.stable || fewer.service_level < 0.8);
  }
}

TEST(ErlangInputsTest, BadInputNamesTheField) {
  absl::StatusOr<ErlangPrediction> p = PredictErlang(Inputs(0, 180, 7, 20));
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("rate"), std::string::npos);
  p = PredictErlang(Inputs(100, 180, 0, 20));
  EXPECT_NE(p.status().message().find("agents"), std::string::npos);
  p = PredictErlang(Inputs(100, -1, 7, 20));
  EXPECT_NE(p.status().message().find("aht"), std::string::npos);
  p = PredictErlang(Inputs(100, 180, 7, 20, -5));
  EXPECT_NE(p.status().message().find("patience"), std::string::npos);
}

}  // namespace
}  // namespace ccr::sim
