#include "engine/cluster/owner_election.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/check.h"
#include "engine/cluster/etcd_calls.h"  // PrefixEnd, FromGrpc
#include "engine/log.h"

namespace ccr::cluster {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

// Old leases kept for revocation; beyond this they are left to expire.
constexpr size_t kMaxAbandonedLeases = 8;

}  // namespace

std::string EncodeOwnerInfo(const OwnerInfo& info) {
  return absl::StrCat("grpc_address=", info.grpc_address, "\nhttp_address=", info.http_address,
                      "\nnode_name=", info.node_name, "\n");
}

absl::StatusOr<OwnerInfo> DecodeOwnerInfo(absl::string_view encoded) {
  OwnerInfo info;
  for (absl::string_view line : absl::StrSplit(encoded, '\n', absl::SkipEmpty())) {
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("owner info line \"", line, "\": no '='"));
    }
    const absl::string_view name = line.substr(0, equals);
    const absl::string_view value = line.substr(equals + 1);
    if (name == "grpc_address") info.grpc_address = std::string(value);
    if (name == "http_address") info.http_address = std::string(value);
    if (name == "node_name") info.node_name = std::string(value);
  }
  if (info.grpc_address.empty()) {
    return absl::InvalidArgumentError("owner info: grpc_address missing");
  }
  return info;
}

OwnerElection::OwnerElection(OwnerElectionOptions options, Callbacks callbacks)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      election_prefix_(absl::StrCat(options_.domain_prefix, "election/")),
      own_value_(EncodeOwnerInfo(options_.self)),
      kv_(options_.etcd_channel ? etcdserverpb::KV::NewStub(options_.etcd_channel) : nullptr),
      lease_(options_.etcd_channel ? etcdserverpb::Lease::NewStub(options_.etcd_channel) : nullptr),
      watch_(options_.etcd_channel ? etcdserverpb::Watch::NewStub(options_.etcd_channel)
                                   : nullptr) {}

OwnerElection::~OwnerElection() { Stop(); }

absl::Status OwnerElection::Start() {
  const OwnerElectionOptions& o = options_;
  if (!o.etcd_channel) return absl::InvalidArgumentError("etcd_channel: not set");
  if (o.domain_prefix.empty() || o.domain_prefix.back() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("domain_prefix \"", o.domain_prefix, "\": want DomainPrefix(domain)"));
  }
  if (o.self.grpc_address.empty()) return absl::InvalidArgumentError("self.grpc_address: empty");
  if (absl::StrContains(o.self.grpc_address, '\n') ||
      absl::StrContains(o.self.http_address, '\n') || absl::StrContains(o.self.node_name, '\n')) {
    return absl::InvalidArgumentError("self: a field contains a newline");
  }
  if (o.lease_ttl < std::chrono::seconds(1)) {
    return absl::InvalidArgumentError("lease_ttl: below 1 s");
  }
  if (o.safety_margin <= milliseconds(0) || o.safety_margin >= o.lease_ttl / 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("safety_margin ", o.safety_margin.count(), " ms: want > 0 and < lease_ttl/2"));
  }
  // At least two keepalives must fit before the local deadline, so one lost
  // keepalive does not depose the owner.
  if (o.keepalive_interval < milliseconds(0) ||
      o.keepalive_interval * 2 >= o.lease_ttl - o.safety_margin) {
    return absl::InvalidArgumentError(
        absl::StrCat("keepalive_interval ", o.keepalive_interval.count(),
                     " ms: want 0 (TTL/3) or < (lease_ttl - safety_margin)/2"));
  }
  if (o.suspend_limit < milliseconds(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("suspend_limit ", o.suspend_limit.count(), " ms: want 0 (the TTL) or more"));
  }
  if (o.call_timeout <= milliseconds(0) || o.retry_delay <= milliseconds(0) ||
      o.reread_interval <= milliseconds(0)) {
    return absl::InvalidArgumentError("call_timeout, retry_delay, reread_interval: want > 0");
  }
  {
    StdMutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("OwnerElection: started already");
    started_ = true;
  }
  threads_.emplace_back([this] { CallbackLoop(); });
  {
    StdMutexLock lock(&mu_);
    callback_thread_id_ = threads_.back().get_id();
  }
  threads_.emplace_back([this] { SessionLoop(); });
  threads_.emplace_back([this] { KeepaliveLoop(); });
  threads_.emplace_back([this] { WatchLoop(); });
  return absl::OkStatus();
}

void OwnerElection::Stop() {
  {
    StdMutexLock lock(&mu_);
    CCR_CHECK(std::this_thread::get_id() != callback_thread_id_)
        << "OwnerElection::Stop called from its own callback";
    stopping_ = true;
    for (grpc::ClientContext* call : calls_in_flight_) call->TryCancel();
    state_changed_.notify_all();
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

absl::Status OwnerElection::Resign() {
  int64_t lease_id = 0;
  {
    StdMutexLock lock(&mu_);
    if (!started_ || stopping_) return absl::FailedPreconditionError("Resign: not running");
    withdrawn_ = true;
    lease_id = lease_id_;
    // Before etcd hears of it: the successor must not act while this node
    // still does.
    if (role_ == Role::kOwner) DeposeLocked("resigned");
    // Nobody keeps this lease alive from now on, and the session leaves it
    // alone: revoking it is up to this call.
    lease_id_ = 0;
    own_key_.clear();
    own_create_revision_ = 0;
    const uint64_t deposed_event = events_enqueued_;
    if (std::this_thread::get_id() != callback_thread_id_) {
      while (events_delivered_ < deposed_event && !stopping_) mu_.Wait(state_changed_);
    }
    state_changed_.notify_all();
  }
  if (lease_id == 0) return absl::OkStatus();
  const auto deadline = SystemClock::now() + 2 * options_.call_timeout;
  absl::Status revoked;
  do {
    revoked = RevokeLease(lease_id, deadline);
    if (revoked.ok()) return revoked;
  } while (SystemClock::now() + options_.retry_delay < deadline && SleepFor(options_.retry_delay));
  StdMutexLock lock(&mu_);
  RememberForRevocationLocked(lease_id);  // the session keeps trying
  return absl::UnavailableError(
      absl::StrCat("Resign: lease ", absl::Hex(lease_id),
                   " not revoked, it expires after its TTL: ", revoked.message()));
}

std::optional<OwnerInfo> OwnerElection::CurrentOwner() const {
  StdMutexLock lock(&mu_);
  return current_owner_;
}

std::optional<OwnerFence> OwnerElection::CurrentFence() const {
  StdMutexLock lock(&mu_);
  if (suspended_) return std::nullopt;
  return fence_;
}

void OwnerElection::PauseKeepalivesForTesting(bool paused) {
  StdMutexLock lock(&mu_);
  keepalives_paused_ = paused;
  state_changed_.notify_all();
}

std::string OwnerElection::OwnKeyFor(int64_t lease_id) const {
  return absl::StrCat(election_prefix_, absl::Hex(lease_id));
}

// ---------------------------------------------------------------------------
// The session: a lease, a key on it, and reading who is first.

void OwnerElection::SessionLoop() {
  for (;;) {
    RevokeAbandonedLeases();
    int64_t lease_id = 0;
    std::string own_key;
    int64_t own_create_revision = 0;
    bool withdrawn = false;
    uint64_t watch_generation = 0;
    {
      StdMutexLock lock(&mu_);
      if (stopping_) return;
      lease_id = lease_id_;
      own_key = own_key_;
      own_create_revision = own_create_revision_;
      withdrawn = withdrawn_;
      watch_generation = watch_generation_;
    }
    if (!withdrawn && lease_id == 0) {
      const SteadyTime sent = SteadyClock::now();
      absl::StatusOr<Grant> grant = GrantLease();
      if (!grant.ok()) {
        if (!SleepFor(options_.retry_delay)) return;
        continue;
      }
      StdMutexLock lock(&mu_);
      if (withdrawn_ || stopping_) {
        RememberForRevocationLocked(grant->lease_id);
        continue;
      }
      lease_id_ = grant->lease_id;
      keepalive_interval_ = options_.keepalive_interval > milliseconds(0)
                                ? options_.keepalive_interval
                                : std::chrono::duration_cast<milliseconds>(grant->ttl) / 3;
      suspend_limit_ = options_.suspend_limit > milliseconds(0)
                           ? options_.suspend_limit
                           : std::chrono::duration_cast<milliseconds>(grant->ttl);
      lease_valid_until_ = sent + grant->ttl - options_.safety_margin;
      next_keepalive_at_ = sent + keepalive_interval_;
      own_key_ = OwnKeyFor(grant->lease_id);
      own_create_revision_ = 0;
      state_changed_.notify_all();
      continue;
    }
    if (!withdrawn && own_create_revision == 0) {
      absl::StatusOr<int64_t> created = PutOwnKey(lease_id, own_key);
      StdMutexLock lock(&mu_);
      if (lease_id_ != lease_id) continue;  // abandoned meanwhile
      if (created.ok()) {
        own_create_revision_ = *created;
        continue;
      }
      if (created.status().code() == absl::StatusCode::kNotFound) {
        AbandonLeaseLocked(/*revoke=*/false);  // the lease expired before its key was put
        continue;
      }
      mu_.WaitUntil(state_changed_, SteadyClock::now() + options_.retry_delay);
      continue;
    }
    const SteadyTime read_sent = SteadyClock::now();
    absl::StatusOr<ElectionView> view = ReadElection(own_key);
    StdMutexLock lock(&mu_);
    if (stopping_) return;
    if (!view.ok()) {
      mu_.WaitUntil(state_changed_, SteadyClock::now() + options_.retry_delay);
      continue;
    }
    ApplyViewLocked(*view, lease_id, read_sent);
    // Read again when the watch sees a change, when the lease is given up,
    // or after reread_interval in any case.
    const SteadyTime reread_at = SteadyClock::now() + options_.reread_interval;
    while (!stopping_ && watch_generation_ == watch_generation && lease_id_ == lease_id &&
           withdrawn_ == withdrawn && SteadyClock::now() < reread_at) {
      mu_.WaitUntil(state_changed_, reread_at);
    }
  }
}

void OwnerElection::ApplyViewLocked(const ElectionView& view, int64_t lease_id,
                                    SteadyTime read_sent) {
  const std::string owner_key = view.owner_key.value_or("");
  const int64_t owner_revision = view.owner_key ? view.owner_create_revision : 0;
  if (owner_key != published_owner_key_ || owner_revision != published_owner_revision_) {
    published_owner_key_ = owner_key;
    published_owner_revision_ = owner_revision;
    if (!view.owner_key) {
      current_owner_.reset();
    } else {
      absl::StatusOr<OwnerInfo> info = DecodeOwnerInfo(view.owner_value);
      if (!info.ok()) {
        // Still the owner: it holds the key. Nobody can be redirected to it.
        LogAlways("cluster_owner_unreadable",
                  {{"key", owner_key}, {"error", std::string(info.status().message())}},
                  LogLevel::kWarn);
        info = OwnerInfo();
        info->node_name = owner_key;
      }
      current_owner_ = *info;
    }
    Event event;
    event.kind = Event::Kind::kOwnerChanged;
    event.owner = current_owner_;
    EnqueueLocked(std::move(event));
  }
  if (lease_id == 0 || lease_id_ != lease_id) return;  // withdrawn, or abandoned meanwhile
  if (!view.own_key_exists) {
    // Deleted by hand, or its lease expired in etcd.
    if (role_ == Role::kOwner) DeposeLocked(absl::StrCat("leader key ", own_key_, " deleted"));
    AbandonLeaseLocked(/*revoke=*/true);
    return;
  }
  const bool first = view.owner_key && *view.owner_key == own_key_;
  if (role_ == Role::kOwner) {
    // The key exists and only ever is first once the keys before it are
    // gone; nothing to do here. A lapsed deadline is the watchdog's.
    // A suspended owner resumes on a read sent after etcd renewed its lease:
    // the key was still first then, so nobody else can have been elected.
    if (suspended_ && first && renewed_while_suspended_ && read_sent >= *renewed_while_suspended_ &&
        SteadyClock::now() < lease_valid_until_) {
      const auto suspended_for = std::chrono::duration_cast<milliseconds>(
          SteadyClock::now() - (suspended_until_ - suspend_limit_));
      suspended_ = false;
      renewed_while_suspended_.reset();
      LogAlways("cluster_resumed", {{"key", own_key_},
                                    {"suspended_ms", absl::StrCat(suspended_for.count())},
                                    {"node", options_.self.node_name}});
      Event event;
      event.kind = Event::Kind::kResumed;
      EnqueueLocked(std::move(event));
      state_changed_.notify_all();  // the watchdog now watches the deadline again
    }
    return;
  }
  if (SteadyClock::now() >= lease_valid_until_) {
    // Not renewed in time: etcd may expire it before this node could act.
    AbandonLeaseLocked(/*revoke=*/true);
    return;
  }
  if (first) {
    role_ = Role::kOwner;
    fence_ = OwnerFence{.leader_key = own_key_, .epoch = own_create_revision_};
    LogAlways("cluster_elected", {{"key", own_key_},
                                  {"epoch", absl::StrCat(own_create_revision_)},
                                  {"node", options_.self.node_name}});
    Event event;
    event.kind = Event::Kind::kElected;
    event.fence = *fence_;
    EnqueueLocked(std::move(event));
    state_changed_.notify_all();  // the watchdog now watches the deadline
  }
}

void OwnerElection::DeposeLocked(const std::string& reason) {
  if (role_ != Role::kOwner) return;
  role_ = Role::kCandidate;
  suspended_ = false;
  renewed_while_suspended_.reset();
  LogAlways("cluster_deposed",
            {{"key", own_key_}, {"reason", reason}, {"node", options_.self.node_name}},
            LogLevel::kWarn);
  fence_.reset();
  Event event;
  event.kind = Event::Kind::kDeposed;
  event.reason = reason;
  EnqueueLocked(std::move(event));
}

void OwnerElection::SuspendLocked() {
  if (role_ != Role::kOwner || suspended_) return;
  suspended_ = true;
  suspended_until_ = SteadyClock::now() + suspend_limit_;
  renewed_while_suspended_.reset();
  const std::string reason = absl::StrCat(
      "lease not renewed in time (etcd electing a raft leader, unreachable, or this process "
      "paused); waiting up to ",
      suspend_limit_.count(), " ms for etcd to renew it");
  LogAlways("cluster_suspended",
            {{"key", own_key_}, {"reason", reason}, {"node", options_.self.node_name}},
            LogLevel::kWarn);
  Event event;
  event.kind = Event::Kind::kSuspended;
  event.reason = reason;
  EnqueueLocked(std::move(event));
  state_changed_.notify_all();
}

void OwnerElection::AbandonLeaseLocked(bool revoke) {
  if (lease_id_ == 0) return;
  if (revoke) RememberForRevocationLocked(lease_id_);
  lease_id_ = 0;
  own_key_.clear();
  own_create_revision_ = 0;
  state_changed_.notify_all();
}

void OwnerElection::RememberForRevocationLocked(int64_t lease_id) {
  abandoned_leases_.push_back(lease_id);
  if (abandoned_leases_.size() > kMaxAbandonedLeases) abandoned_leases_.pop_front();
}

void OwnerElection::RevokeAbandonedLeases() {
  for (;;) {
    int64_t lease_id = 0;
    {
      StdMutexLock lock(&mu_);
      if (stopping_ || abandoned_leases_.empty()) return;
      lease_id = abandoned_leases_.front();
    }
    const absl::Status revoked = RevokeLease(lease_id, CallDeadline());
    StdMutexLock lock(&mu_);
    // Gone already (expired) counts as done.
    if (revoked.ok() || revoked.code() == absl::StatusCode::kNotFound) {
      std::erase(abandoned_leases_, lease_id);
      continue;
    }
    return;  // etcd does not answer: a new lease cannot be had either; try later
  }
}

// ---------------------------------------------------------------------------
// Keepalives and the deadline.

void OwnerElection::KeepaliveLoop() {
  StdMutexLock lock(&mu_);
  while (!stopping_) {
    // The watchdog: the owner suspends itself once its deadline passes, and
    // is deposed once suspended for suspend_limit, whatever the calls below
    // are doing (they run unlocked).
    if (role_ == Role::kOwner && !suspended_ && SteadyClock::now() >= lease_valid_until_) {
      SuspendLocked();
      continue;
    }
    if (role_ == Role::kOwner && suspended_ && SteadyClock::now() >= suspended_until_) {
      DeposeLocked(absl::StrCat("lease not renewed in time, nor within ", suspend_limit_.count(),
                                " ms after (etcd unreachable, no quorum, or paused)"));
      AbandonLeaseLocked(/*revoke=*/true);
      continue;
    }
    // What the watchdog waits for next.
    const SteadyTime watched =
        role_ == Role::kOwner && suspended_ ? suspended_until_ : lease_valid_until_;
    if (lease_id_ == 0 || keepalives_paused_ || SteadyClock::now() < next_keepalive_at_) {
      SteadyTime wake = SteadyClock::now() + options_.reread_interval;
      if (lease_id_ != 0 && !keepalives_paused_) wake = std::min(wake, next_keepalive_at_);
      if (role_ == Role::kOwner) wake = std::min(wake, watched);
      mu_.WaitUntil(state_changed_, wake);
      continue;
    }
    const int64_t lease_id = lease_id_;
    const milliseconds interval = keepalive_interval_;
    // The call ends by what the watchdog waits for at the latest, so its
    // check above runs on time (for a candidate too: it may be elected
    // while the call is out).
    const SystemClock::time_point call_deadline = std::min(
        CallDeadline(), SystemClock::now() + std::chrono::duration_cast<SystemClock::duration>(
                                                 watched - SteadyClock::now()));
    mu_.Unlock();
    const SteadyTime sent = SteadyClock::now();
    absl::StatusOr<int64_t> ttl_seconds = KeepAliveOnce(lease_id, call_deadline);
    mu_.Lock();
    if (lease_id_ != lease_id) continue;
    if (!ttl_seconds.ok()) {
      // Retried soon, not after a full interval: etcd answers "no leader"
      // for a second or two while it elects one.
      next_keepalive_at_ = SteadyClock::now() + std::min(options_.retry_delay, interval);
      continue;
    }
    if (*ttl_seconds <= 0) {
      DeposeLocked("lease expired in etcd");
      AbandonLeaseLocked(/*revoke=*/false);
      continue;
    }
    lease_valid_until_ = std::max(
        lease_valid_until_, sent + std::chrono::seconds(*ttl_seconds) - options_.safety_margin);
    next_keepalive_at_ = sent + interval;
    if (suspended_ && SteadyClock::now() < lease_valid_until_) {
      // Renewed: the session reads the election again now, and a read sent
      // from here on resumes this owner if its key is still first.
      renewed_while_suspended_ = sent;
      ++watch_generation_;
      state_changed_.notify_all();
    }
  }
}

// ---------------------------------------------------------------------------
// The watch: wakes the session whenever a key under the election prefix
// changes. It carries no state itself; the session reads the election.

void OwnerElection::WatchLoop() {
  while (true) {
    grpc::ClientContext context;
    TrackCall(&context);
    {
      auto stream = watch_->Watch(&context);
      etcdserverpb::WatchRequest request;
      request.mutable_create_request()->set_key(election_prefix_);
      request.mutable_create_request()->set_range_end(PrefixEnd(election_prefix_));
      if (stream->Write(request)) {
        etcdserverpb::WatchResponse response;
        while (stream->Read(&response)) {
          // Created: changes between the session's last read and now were
          // missed, so read again too.
          StdMutexLock lock(&mu_);
          ++watch_generation_;
          state_changed_.notify_all();
          if (response.canceled()) break;
        }
      }
      context.TryCancel();
      etcdserverpb::WatchResponse drain;
      while (stream->Read(&drain)) {
      }
      stream->Finish().IgnoreError();
    }
    UntrackCall(&context);
    if (!SleepFor(options_.retry_delay)) return;
  }
}

// ---------------------------------------------------------------------------
// Callbacks, one at a time, without the lock.

uint64_t OwnerElection::EnqueueLocked(Event event) {
  if (event.kind == Event::Kind::kOwnerChanged && !events_.empty() &&
      events_.back().kind == Event::Kind::kOwnerChanged) {
    events_.back() = std::move(event);  // only the latest owner matters
    return events_enqueued_;
  }
  events_.push_back(std::move(event));
  state_changed_.notify_all();
  return ++events_enqueued_;
}

void OwnerElection::CallbackLoop() {
  StdMutexLock lock(&mu_);
  for (;;) {
    while (!stopping_ && events_.empty()) mu_.Wait(state_changed_);
    if (stopping_) return;
    Event event = std::move(events_.front());
    events_.pop_front();
    mu_.Unlock();
    switch (event.kind) {
      case Event::Kind::kElected:
        if (callbacks_.on_elected) callbacks_.on_elected(event.fence);
        break;
      case Event::Kind::kDeposed:
        if (callbacks_.on_deposed) callbacks_.on_deposed(event.reason);
        break;
      case Event::Kind::kSuspended:
        if (callbacks_.on_suspended) callbacks_.on_suspended(event.reason);
        break;
      case Event::Kind::kResumed:
        if (callbacks_.on_resumed) callbacks_.on_resumed();
        break;
      case Event::Kind::kOwnerChanged:
        if (callbacks_.on_owner_changed) callbacks_.on_owner_changed(event.owner);
        break;
    }
    mu_.Lock();
    ++events_delivered_;
    state_changed_.notify_all();
  }
}

// ---------------------------------------------------------------------------
// etcd calls.

void OwnerElection::TrackCall(grpc::ClientContext* context) {
  StdMutexLock lock(&mu_);
  calls_in_flight_.insert(context);
  if (stopping_) context->TryCancel();
}

void OwnerElection::UntrackCall(grpc::ClientContext* context) {
  StdMutexLock lock(&mu_);
  calls_in_flight_.erase(context);
}

SystemClock::time_point OwnerElection::CallDeadline() const {
  return SystemClock::now() + options_.call_timeout;
}

bool OwnerElection::SleepFor(milliseconds delay) {
  StdMutexLock lock(&mu_);
  const SteadyTime until = SteadyClock::now() + delay;
  while (!stopping_ && SteadyClock::now() < until) mu_.WaitUntil(state_changed_, until);
  return !stopping_;
}

absl::StatusOr<OwnerElection::Grant> OwnerElection::GrantLease() {
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
  TrackCall(&context);
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(options_.lease_ttl.count());
  etcdserverpb::LeaseGrantResponse response;
  const grpc::Status status = lease_->LeaseGrant(&context, request, &response);
  UntrackCall(&context);
  if (!status.ok()) return FromGrpc(status, "LeaseGrant");
  if (!response.error().empty() || response.id() == 0 || response.ttl() <= 0) {
    return absl::UnavailableError(absl::StrCat("etcd LeaseGrant: refused: ", response.error()));
  }
  return Grant{.lease_id = response.id(), .ttl = std::chrono::seconds(response.ttl())};
}

// Puts the key unless it exists (a retry after an answer that never came),
// and answers its create revision. NOT_FOUND: the lease is gone.
absl::StatusOr<int64_t> OwnerElection::PutOwnKey(int64_t lease_id, const std::string& key) {
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
  TrackCall(&context);
  etcdserverpb::TxnRequest request;
  etcdserverpb::Compare* absent = request.add_compare();
  absent->set_key(key);
  absent->set_target(etcdserverpb::Compare::CREATE);
  absent->set_result(etcdserverpb::Compare::EQUAL);
  absent->set_create_revision(0);
  etcdserverpb::PutRequest* put = request.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(own_value_);
  put->set_lease(lease_id);
  request.add_failure()->mutable_request_range()->set_key(key);
  etcdserverpb::TxnResponse response;
  const grpc::Status status = kv_->Txn(&context, request, &response);
  UntrackCall(&context);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      return absl::NotFoundError(absl::StrCat("etcd put ", key, ": lease ", absl::Hex(lease_id),
                                              " gone: ", status.error_message()));
    }
    return FromGrpc(status, absl::StrCat("put ", key));
  }
  // The put was the transaction's only write: the key was created at the
  // transaction's revision.
  if (response.succeeded()) return response.header().revision();
  const etcdserverpb::RangeResponse& existing = response.responses(0).response_range();
  if (existing.kvs_size() != 1 || existing.kvs(0).lease() != lease_id) {
    return absl::InternalError(
        absl::StrCat("etcd put ", key, ": exists without lease ", absl::Hex(lease_id)));
  }
  return existing.kvs(0).create_revision();
}

// One linearizable read of both the first key and this node's own key.
absl::StatusOr<OwnerElection::ElectionView> OwnerElection::ReadElection(
    const std::string& own_key) {
  grpc::ClientContext context;
  context.set_deadline(CallDeadline());
  TrackCall(&context);
  etcdserverpb::TxnRequest request;  // no compare: the success branch runs
  etcdserverpb::RangeRequest* first = request.add_success()->mutable_request_range();
  first->set_key(election_prefix_);
  first->set_range_end(PrefixEnd(election_prefix_));
  first->set_sort_target(etcdserverpb::RangeRequest::CREATE);
  first->set_sort_order(etcdserverpb::RangeRequest::ASCEND);
  first->set_limit(1);
  if (!own_key.empty()) {
    etcdserverpb::RangeRequest* own = request.add_success()->mutable_request_range();
    own->set_key(own_key);
    own->set_keys_only(true);
  }
  etcdserverpb::TxnResponse response;
  const grpc::Status status = kv_->Txn(&context, request, &response);
  UntrackCall(&context);
  if (!status.ok()) return FromGrpc(status, absl::StrCat("read ", election_prefix_));
  ElectionView view;
  const etcdserverpb::RangeResponse& first_response = response.responses(0).response_range();
  if (first_response.kvs_size() > 0) {
    view.owner_key = first_response.kvs(0).key();
    view.owner_create_revision = first_response.kvs(0).create_revision();
    view.owner_value = first_response.kvs(0).value();
  }
  if (!own_key.empty()) view.own_key_exists = response.responses(1).response_range().kvs_size() > 0;
  return view;
}

absl::StatusOr<int64_t> OwnerElection::KeepAliveOnce(int64_t lease_id,
                                                     SystemClock::time_point deadline) {
  grpc::ClientContext context;
  context.set_deadline(deadline);
  TrackCall(&context);
  absl::StatusOr<int64_t> ttl_seconds =
      absl::UnavailableError(absl::StrCat("LeaseKeepAlive ", absl::Hex(lease_id)));
  {
    // One short stream per keepalive: each has its own deadline, and a dead
    // member costs one call rather than a stream to notice and rebuild.
    auto stream = lease_->LeaseKeepAlive(&context);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease_id);
    etcdserverpb::LeaseKeepAliveResponse response;
    if (stream->Write(request) && stream->Read(&response)) ttl_seconds = response.ttl();
    context.TryCancel();
    while (stream->Read(&response)) {
    }
    const grpc::Status status = stream->Finish();
    if (!ttl_seconds.ok() && !status.ok()) {
      ttl_seconds = FromGrpc(status, absl::StrCat("LeaseKeepAlive ", absl::Hex(lease_id)));
    }
  }
  UntrackCall(&context);
  return ttl_seconds;
}

absl::Status OwnerElection::RevokeLease(int64_t lease_id, SystemClock::time_point deadline) {
  grpc::ClientContext context;
  context.set_deadline(std::min(deadline, CallDeadline()));
  TrackCall(&context);
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse response;
  const grpc::Status status = lease_->LeaseRevoke(&context, request, &response);
  UntrackCall(&context);
  if (!status.ok()) return FromGrpc(status, absl::StrCat("LeaseRevoke ", absl::Hex(lease_id)));
  return absl::OkStatus();
}

}  // namespace ccr::cluster
