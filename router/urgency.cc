#include "router/urgency.h"

#include <algorithm>

namespace ccr {

UrgencyScore ScoreUrgency(const UrgencyInputs& in, const ScoringWeights& w,
                          const EscalationConfig& escalation) {
  const Signals& s = *in.signals;
  UrgencyScore score;
  auto add = [&score](const char* name, double points) {
    if (points == 0) return;
    score.components.emplace_back(name, points);
    score.points += points;
  };
  add("tier", w.tier[static_cast<int>(in.tier)]);
  if (s.complaint) add("complaint", w.complaint);
  if (s.emergency) add("emergency", w.emergency);
  add("severity", w.severity[static_cast<int>(s.severity)]);
  const double sentiment = std::clamp(s.sentiment, -1.0, 1.0);
  if (sentiment < 0) add("negative_sentiment", -sentiment * w.negative_sentiment);
  add("repeat_contact", std::min(s.repeat_contacts_24h, w.repeat_contact_cap) * w.repeat_contact);
  add("escalation", std::min<uint32_t>(s.escalation_level, 3) * w.escalation_level);
  double keyword_points = 0;
  for (const std::string& k : s.keywords) {
    auto it = w.keywords.find(k);
    if (it != w.keywords.end()) keyword_points += it->second;
  }
  add("keywords", keyword_points);
  if (in.direction == Direction::kProactiveOutbound) add("proactive", w.proactive_outbound);
  if (in.elderly) add("elderly", w.need_elderly);
  if (in.accessibility) add("accessibility", w.need_accessibility);

  score.emergency = s.emergency;
  score.needs_senior = !escalation.senior_skill.empty() &&
                       ((s.complaint && sentiment <= escalation.complaint_sentiment_threshold) ||
                        (escalation.senior_from_escalation_level > 0 &&
                         s.escalation_level >= escalation.senior_from_escalation_level) ||
                        sentiment <= escalation.alert_sentiment_threshold);
  score.supervisor_alert = sentiment <= escalation.alert_sentiment_threshold;
  return score;
}

}  // namespace ccr
