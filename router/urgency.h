// UrgencyScore: the explainable sum that ranks a contact, and the routing
// requirements its signals imply (senior agent, supervisor alert).
#ifndef CCROUTER_ROUTER_URGENCY_H_
#define CCROUTER_ROUTER_URGENCY_H_

#include <string>
#include <vector>

#include "router/types.h"

namespace ccr {

struct UrgencyInputs {
  Tier tier = Tier::kStandard;
  Direction direction = Direction::kInbound;
  bool elderly = false;
  bool accessibility = false;
  const Signals* signals = nullptr;  // REQUIRES: non-null
};

struct UrgencyScore {
  // Each non-zero part, in a fixed order: tier, complaint, emergency,
  // severity, sentiment, repeat, escalation, keywords, proactive, needs.
  std::vector<std::pair<std::string, double>> components;
  double points = 0;
  bool emergency = false;     // ranks ahead of every non-emergency on its channel
  bool needs_senior = false;  // complaint with strong negative emotion, or escalated
  bool supervisor_alert = false;
};

UrgencyScore ScoreUrgency(const UrgencyInputs& in, const ScoringWeights& weights,
                          const EscalationConfig& escalation);

}  // namespace ccr

#endif  // CCROUTER_ROUTER_URGENCY_H_
