// ContactWatches: what a gateway learns about one of its contacts
// (ContactIngest.GetContact and WatchContact): where it is now, and how it
// ended. Reads only: nothing here is journalled or emits an event.
//
// Strand-only, like the Router it reads. The engine calls Observe for every
// event it delivers, SendChanged after each delivery, and RefreshAll on a
// timer so that positions and wait estimates, which move when other
// contacts leave the queue, reach watchers too.
#ifndef CCROUTER_ENGINE_CONTACT_WATCH_H_
#define CCROUTER_ENGINE_CONTACT_WATCH_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ccrouter/v1/ingest.pb.h"
#include "engine/sinks.h"
#include "router/router.h"

namespace ccr {

namespace v1 = ::ccrouter::v1;

struct ContactWatchOptions {
  size_t max_watches = 10000;                 // concurrent WatchContact streams
  size_t ended_kept = 100000;                 // ended contacts remembered by id
  absl::Duration refresh = absl::Seconds(1);  // how often positions are re-checked
};

// Checks a ContactRef at the edge: exactly one of its fields, within bounds.
absl::Status ValidateContactRef(const v1::ContactRef& ref);

class ContactWatches {
 public:
  // `post_to_strand` runs a closure on the routing strand later (a sink's
  // room callback arrives on a gRPC thread).
  ContactWatches(ContactWatchOptions options,
                 std::function<void(std::function<void()>)> post_to_strand);

  // The contact's status now. NOT_FOUND naming the field when the engine
  // neither holds it nor remembers it ending.
  absl::StatusOr<v1::ContactStatus> Status(const Router& router, const v1::ContactRef& ref) const;
  // Sends `sink` the status now and then every change, until the contact
  // ends (a last status with `ended`, then OK). RESOURCE_EXHAUSTED at
  // max_watches; the errors of Status.
  absl::Status Watch(const Router& router, const v1::ContactRef& ref,
                     std::shared_ptr<ContactStatusSink> sink);

  // For every event delivered, after the router applied it: remembers a
  // contact that ended, and notes a watched contact as changed.
  void Observe(const Router& router, const Event& e);
  // Sends the new status of each watched contact noted since the last call.
  void SendChanged(const Router& router);
  // Re-checks every watched contact (position, wait estimate) and sends
  // those that changed; drops the watches whose client went away.
  void RefreshAll(const Router& router);
  // Ends every watch with `status` (the engine is shutting down).
  void CloseAll(const absl::Status& status);

  size_t watch_count() const { return watch_count_; }
  const ContactWatchOptions& options() const { return options_; }

 private:
  struct Ended {
    v1::ContactState state = v1::CONTACT_STATE_UNSPECIFIED;
    std::string queue;
    std::string agent_id;
    std::string reason;
  };
  struct WatchState {
    ContactId contact = 0;
    std::shared_ptr<ContactStatusSink> sink;
    std::optional<v1::ContactStatus> last_sent;
    std::optional<v1::ContactStatus> unsent;  // newest status not yet queued to the sink
    bool waiting_for_room = false;
    bool done = false;  // finished or closed: to be removed
  };

  struct Resolved {
    ContactId id = 0;
    v1::ContactStatus status;
  };
  absl::StatusOr<Resolved> Resolve(const Router& router, const v1::ContactRef& ref) const;
  absl::StatusOr<v1::ContactStatus> StatusById(const Router& router, ContactId id) const;
  // Queues `status` for `w` unless the watcher already has it.
  void Offer(const std::shared_ptr<WatchState>& w, v1::ContactStatus status);
  // Hands `w` its unsent status when the sink has room.
  void Flush(const std::shared_ptr<WatchState>& w);
  void SendCurrent(const Router& router, ContactId id);
  void RemoveDone(ContactId id);

  ContactWatchOptions options_;
  std::function<void(std::function<void()>)> post_to_strand_;
  absl::flat_hash_map<ContactId, Ended> ended_;
  std::deque<ContactId> ended_order_;  // oldest first, for the bound
  absl::flat_hash_map<ContactId, std::vector<std::shared_ptr<WatchState>>> watches_;
  size_t watch_count_ = 0;
  std::vector<ContactId> changed_;  // watched contacts touched by events since SendChanged
};

}  // namespace ccr

#endif  // CCROUTER_ENGINE_CONTACT_WATCH_H_
