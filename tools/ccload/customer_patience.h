// CustomerPatience: which submitted contacts a simulated customer is still
// waiting on (the demo). A customer hangs up when their patience runs out
// while nobody has been offered the contact; if it is on offer then, they
// hang up as soon as it comes back to the queue (rejected, offer timed out).
// The agents tell it through OfferObserver. Thread-safe.
#ifndef CCR_TOOLS_CCLOAD_CUSTOMER_PATIENCE_H_
#define CCR_TOOLS_CCLOAD_CUSTOMER_PATIENCE_H_

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tools/ccload/desk_client.h"
#include "tools/ccload/scheduler.h"

namespace ccr::load {

class CustomerPatience final : public OfferObserver {
 public:
  // `hang_up` must not block: it runs on the scheduler or a gRPC thread.
  CustomerPatience(Scheduler& scheduler, std::function<void(const std::string&)> hang_up)
      : scheduler_(scheduler), hang_up_(std::move(hang_up)) {}

  // The contact was queued; the customer waits at most `patience_seconds`.
  void Watch(const std::string& contact_id, double patience_seconds);

  void Offered(const std::string& contact_id) override;
  void BackInQueue(const std::string& contact_id) override;
  void Settled(const std::string& contact_id) override;

 private:
  enum class Phase { kWaiting, kOffered, kOfferedPatienceGone };

  void PatienceRanOut(const std::string& contact_id);

  Scheduler& scheduler_;
  const std::function<void(const std::string&)> hang_up_;
  std::mutex mu_;
  std::unordered_map<std::string, Phase> contacts_;  // GUARDED_BY(mu_)
};

}  // namespace ccr::load

#endif  // CCR_TOOLS_CCLOAD_CUSTOMER_PATIENCE_H_
