#include "tools/ccload/customer_patience.h"

namespace ccr::load {

void CustomerPatience::Watch(const std::string& contact_id, double patience_seconds) {
  {
    std::lock_guard lock(mu_);
    // An agent may have seen the offer before the gateway saw the reply.
    contacts_.try_emplace(contact_id, Phase::kWaiting);
  }
  scheduler_.After(SecondsToDuration(patience_seconds),
                   [this, contact_id] { PatienceRanOut(contact_id); });
}

void CustomerPatience::Offered(const std::string& contact_id) {
  std::lock_guard lock(mu_);
  contacts_[contact_id] = Phase::kOffered;
}

void CustomerPatience::BackInQueue(const std::string& contact_id) {
  bool hang_up = false;
  {
    std::lock_guard lock(mu_);
    auto it = contacts_.find(contact_id);
    if (it == contacts_.end()) return;
    if (it->second == Phase::kOfferedPatienceGone) {
      contacts_.erase(it);
      hang_up = true;
    } else {
      it->second = Phase::kWaiting;
    }
  }
  if (hang_up) hang_up_(contact_id);
}

void CustomerPatience::Settled(const std::string& contact_id) {
  std::lock_guard lock(mu_);
  contacts_.erase(contact_id);
}

void CustomerPatience::PatienceRanOut(const std::string& contact_id) {
  {
    std::lock_guard lock(mu_);
    auto it = contacts_.find(contact_id);
    if (it == contacts_.end()) return;  // answered meanwhile
    if (it->second != Phase::kWaiting) {
      it->second = Phase::kOfferedPatienceGone;
      return;
    }
    contacts_.erase(it);
  }
  hang_up_(contact_id);
}

}  // namespace ccr::load
