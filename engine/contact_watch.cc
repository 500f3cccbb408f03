#include "engine/contact_watch.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "codec/wire.h"

namespace ccr {

namespace {

// A live contact as its gateway sees it.
v1::ContactStatus StatusOf(const ContactPlace& view) {
  v1::ContactStatus status;
  status.set_contact_id(ContactIdString(view.contact));
  status.set_state(ContactStateToWire(view.state));
  status.set_queue(view.queue);
  status.set_position(view.position);
  status.set_estimated_wait_seconds(absl::ToDoubleSeconds(view.estimated_wait));
  status.set_agent_id(view.agent_id);
  return status;
}

// Whether a watcher holding `sent` needs `next`: a changed state, queue,
// position or agent, or a wait estimate that moved by a whole second (it is
// recomputed on every check, so smaller moves are noise to an IVR).
bool Differs(const v1::ContactStatus& sent, const v1::ContactStatus& next) {
  return sent.state() != next.state() || sent.queue() != next.queue() ||
         sent.position() != next.position() || sent.agent_id() != next.agent_id() ||
         sent.ended() != next.ended() ||
         std::llround(sent.estimated_wait_seconds()) != std::llround(next.estimated_wait_seconds());
}

}  // namespace

absl::Status ValidateContactRef(const v1::ContactRef& ref) {
  const bool by_id = !ref.contact_id().empty();
  const bool by_key = !ref.idempotency_key().empty();
  if (by_id == by_key) {
    return absl::InvalidArgumentError("contact: set exactly one of contact_id and idempotency_key");
  }
  if (by_id) return ContactIdFromWire(ref.contact_id(), "contact.contact_id").status();
  if (ref.idempotency_key().size() > InputLimits::kMaxIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("contact.idempotency_key: longer than ", InputLimits::kMaxIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

ContactWatches::ContactWatches(ContactWatchOptions options,
                               std::function<void(std::function<void()>)> post_to_strand)
    : options_(options), post_to_strand_(std::move(post_to_strand)) {}

absl::StatusOr<v1::ContactStatus> ContactWatches::StatusById(const Router& router,
                                                             ContactId id) const {
  if (absl::StatusOr<ContactPlace> place = router.Locate(id); place.ok()) {
    return StatusOf(*place);
  }
  auto it = ended_.find(id);
  if (it == ended_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "contact.contact_id: ", ContactIdString(id), " is not live and not among the last ",
        options_.ended_kept, " contacts that ended since the engine started"));
  }
  v1::ContactStatus status;
  status.set_contact_id(ContactIdString(id));
  status.set_state(it->second.state);
  status.set_queue(it->second.queue);
  status.set_agent_id(it->second.agent_id);
  status.set_ended(true);
  status.set_ended_reason(it->second.reason);
  return status;
}

absl::StatusOr<v1::ContactStatus> ContactWatches::Status(const Router& router,
                                                         const v1::ContactRef& ref) const {
  CCR_ASSIGN_OR_RETURN(Resolved resolved, Resolve(router, ref));
  return std::move(resolved.status);
}

absl::StatusOr<ContactWatches::Resolved> ContactWatches::Resolve(const Router& router,
                                                                 const v1::ContactRef& ref) const {
  CCR_RETURN_IF_ERROR(ValidateContactRef(ref));
  if (!ref.contact_id().empty()) {
    CCR_ASSIGN_OR_RETURN(const ContactId id,
                         ContactIdFromWire(ref.contact_id(), "contact.contact_id"));
    CCR_ASSIGN_OR_RETURN(v1::ContactStatus status, StatusById(router, id));
    return Resolved{id, std::move(status)};
  }
  std::optional<IdempotencyView> first = router.LookupIdempotencyKey(ref.idempotency_key());
  if (!first) {
    return absl::NotFoundError(
        "contact.idempotency_key: no contact was submitted with this key within the "
        "idempotency window");
  }
  absl::StatusOr<v1::ContactStatus> known = StatusById(router, first->contact);
  if (known.ok()) return Resolved{first->contact, *std::move(known)};
  if (!first->ended) return known.status();
  // Ended before this engine started (or beyond ended_kept): the key's
  // window still says how and where.
  v1::ContactStatus status;
  status.set_contact_id(ContactIdString(first->contact));
  status.set_state(ContactStateToWire(*first->ended));
  status.set_queue(first->ended_queue);
  status.set_ended(true);
  return Resolved{first->contact, std::move(status)};
}

absl::Status ContactWatches::Watch(const Router& router, const v1::ContactRef& ref,
                                   std::shared_ptr<ContactStatusSink> sink) {
  CCR_ASSIGN_OR_RETURN(Resolved resolved, Resolve(router, ref));
  const bool ended = resolved.status.ended();
  if (!ended && watch_count_ >= options_.max_watches) {
    return absl::ResourceExhaustedError(
        absl::StrCat("WatchContact: ", watch_count_,
                     " streams are open, the limit (config.limits.max_contact_watch_streams = ",
                     options_.max_watches, "); poll GetContact or retry later"));
  }
  auto w = std::make_shared<WatchState>();
  w->contact = resolved.id;
  w->sink = std::move(sink);
  // An ended contact gets its one last status (Flush then finishes the
  // stream); a live one is watched from now on.
  if (!ended) {
    watches_[w->contact].push_back(w);
    ++watch_count_;
  }
  Offer(w, std::move(resolved.status));
  RemoveDone(w->contact);
  return absl::OkStatus();
}

void ContactWatches::Observe(const Router& router, const Event& e) {
  if (e.contact == 0) return;
  if (std::optional<v1::ContactEnded> ended = ContactEndedFor(e);
      ended && !router.Locate(e.contact).ok()) {
    auto [it, added] = ended_.try_emplace(e.contact);
    it->second = Ended{ended->state(), e.queue, e.agent_id, ended->reason()};
    if (added) {
      ended_order_.push_back(e.contact);
      while (ended_order_.size() > options_.ended_kept) {
        ended_.erase(ended_order_.front());
        ended_order_.pop_front();
      }
    }
  }
  if (watches_.contains(e.contact)) changed_.push_back(e.contact);
}

void ContactWatches::SendChanged(const Router& router) {
  if (changed_.empty()) return;
  std::vector<ContactId> changed;
  changed.swap(changed_);
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  for (ContactId id : changed) SendCurrent(router, id);
}

void ContactWatches::RefreshAll(const Router& router) {
  std::vector<ContactId> watched;
  watched.reserve(watches_.size());
  for (const auto& [id, list] : watches_) watched.push_back(id);
  for (ContactId id : watched) SendCurrent(router, id);
}

void ContactWatches::SendCurrent(const Router& router, ContactId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  absl::StatusOr<v1::ContactStatus> status = StatusById(router, id);
  if (!status.ok()) {
    // Ended and already forgotten (more than ended_kept ended in one turn):
    // the watcher still learns that it ended, not how.
    status = v1::ContactStatus();
    status->set_contact_id(ContactIdString(id));
    status->set_ended(true);
  }
  // Offer may end a watch; iterate over a copy.
  std::vector<std::shared_ptr<WatchState>> list = it->second;
  for (const std::shared_ptr<WatchState>& w : list) Offer(w, *status);
  RemoveDone(id);
}

void ContactWatches::Offer(const std::shared_ptr<WatchState>& w, v1::ContactStatus status) {
  // A client that cancelled frees its slot at the next check, changed or not.
  if (w->done || w->sink->closed()) {
    w->done = true;
    return;
  }
  const v1::ContactStatus* newest =
      w->unsent ? &*w->unsent : (w->last_sent ? &*w->last_sent : nullptr);
  if (newest != nullptr && !Differs(*newest, status)) return;
  w->unsent = std::move(status);  // replaces an older one still waiting for room
  Flush(w);
}

void ContactWatches::Flush(const std::shared_ptr<WatchState>& w) {
  while (w->unsent && !w->done && !w->waiting_for_room) {
    switch (w->sink->TryWrite(*w->unsent)) {
      case ContactStatusSink::WriteResult::kQueued:
        w->last_sent = std::move(w->unsent);
        w->unsent.reset();
        if (w->last_sent->ended()) {
          w->sink->Close(absl::OkStatus());
          w->done = true;
        }
        return;
      case ContactStatusSink::WriteResult::kClosed:
        w->done = true;
        return;
      case ContactStatusSink::WriteResult::kFull: {
        // A watcher that does not read holds one status, the newest: the
        // next check replaces `unsent` rather than queuing behind it.
        w->waiting_for_room = true;
        std::weak_ptr<WatchState> weak = w;
        const bool armed = w->sink->NotifyWhenRoom([this, weak] {
          post_to_strand_([this, weak] {
            std::shared_ptr<WatchState> watch = weak.lock();
            if (watch == nullptr) return;
            watch->waiting_for_room = false;
            Flush(watch);
            RemoveDone(watch->contact);
          });
        });
        if (armed) return;
        w->waiting_for_room = false;  // room freed meanwhile: try again
        break;
      }
    }
  }
}

void ContactWatches::RemoveDone(ContactId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  watch_count_ -= std::erase_if(it->second, [](const auto& w) { return w->done; });
  if (it->second.empty()) watches_.erase(it);
}

void ContactWatches::CloseAll(const absl::Status& status) {
  for (auto& [id, list] : watches_) {
    for (const std::shared_ptr<WatchState>& w : list) {
      if (!w->done) w->sink->Close(status);
      w->done = true;
    }
  }
  watches_.clear();
  watch_count_ = 0;
  changed_.clear();
}

}  // namespace ccr
