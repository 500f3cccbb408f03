// Writes the seed corpora of the fuzz targets: real, valid inputs of each
// kind, small enough to commit (tests/fuzz/corpus/<target>/).
//
//   build/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
//
// Deterministic: the same build writes the same files.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "ccrouter/v1/admin.pb.h"
#include "ccrouter/v1/agent_desk.pb.h"
#include "ccrouter/v1/ingest.pb.h"
#include "ccrouter/v1/snapshot.pb.h"
#include "codec/config_loader.h"
#include "codec/wire.h"
#include "engine/apply.h"
#include "engine/journal/journal_format.h"
#include "engine/journal/snapshot_codec.h"
#include "engine/journal/snapshot_file.h"
#include "engine/testing/random_commands.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "router/router_state.h"
#include "tests/fuzz/fuzz_support.h"

namespace ccr::fuzz {
namespace {

namespace fs = std::filesystem;

// A config small enough to keep the journal seeds small.
constexpr absl::string_view kSmallConfig = R"(default_language: en
fallback_queue: voice_general
channels:
  - {channel: voice, agent_capacity: 1, exclusive: true, offer_timeout_seconds: 15,
     wrap_up_seconds: 30}
  - {channel: chat, agent_capacity: 3, offer_timeout_seconds: 20, wrap_up_seconds: 15}
queues:
  - name: voice_general
    channel: voice
    skills: [{skill: general, min_level: 3}]
    answer_within_seconds: 20
    target_ratio: 0.8
    topics: [general]
    overflow:
      - {after_seconds: 30, lower_min_level_by: 2}
  - name: voice_billing
    channel: voice
    skills: [{skill: billing, min_level: 4}]
    answer_within_seconds: 30
    overflow:
      - {after_seconds: 45, add_queues: [voice_general]}
  - name: chat_general
    channel: chat
    skills: [{skill: general, min_level: 2}]
    answer_within_seconds: 180
  - name: email_general
    channel: email
    answer_within_seconds: 86400
)";

// A reload that shares parts through YAML anchors and aliases (within the
// loader's node budget: it loads), and one whose nested aliases expand to
// 9^9 nodes (refused by the budget): the fuzzer mutates both toward the
// edges of alias expansion.
constexpr absl::string_view kConfigWithAliases = R"(default_language: en
fallback_queue: voice_general
channels:
  - &voice {channel: voice, agent_capacity: 1, exclusive: true, offer_timeout_seconds: 15,
     wrap_up_seconds: 30}
  - {channel: chat, agent_capacity: 3, offer_timeout_seconds: 20, wrap_up_seconds: 15}
queues:
  - name: voice_general
    channel: voice
    skills: &general [{skill: general, min_level: 3}]
    answer_within_seconds: &voice_target 20
    overflow: &widen
      - {after_seconds: 30, lower_min_level_by: 2}
  - name: voice_billing
    channel: voice
    skills: [{skill: billing, min_level: 4}]
    answer_within_seconds: *voice_target
    overflow: *widen
  - name: chat_general
    channel: chat
    skills: *general
    answer_within_seconds: 180
)";

std::string AliasBomb() {
  std::string yaml = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char level = 'b'; level <= 'i'; ++level) {
    absl::StrAppend(&yaml, std::string(1, level), ": &", std::string(1, level), " [");
    for (int i = 0; i < 9; ++i)
      absl::StrAppend(&yaml, i ? ", " : "", "*", std::string(1, level - 1));
    yaml += "]\n";
  }
  return yaml;
}

void Write(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  std::cout << path.string() << " (" << data.size() << " bytes)\n";
}

std::string Serialize(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

void WriteRequest(const fs::path& dir, const std::string& name, RequestKind kind,
                  const google::protobuf::Message& m) {
  Write(dir / name, std::string(1, static_cast<char>(kind)) + Serialize(m));
}

v1::ContactSpec Contact(const std::string& key, v1::Channel channel, const std::string& topic) {
  v1::ContactSpec c;
  c.set_idempotency_key(key);
  c.set_channel(channel);
  c.set_topic(topic);
  c.mutable_customer()->set_id("cust-42");
  c.mutable_customer()->set_language("en");
  return c;
}

void RequestCorpus(const fs::path& dir) {
  const RequestFixture f = MakeRequestFixture();
  {
    v1::SubmitRequest r;
    *r.mutable_contact() = Contact("seed-voice", v1::CHANNEL_VOICE, "billing");
    r.mutable_contact()->mutable_customer()->set_tier(v1::TIER_GOLD);
    r.mutable_contact()->mutable_signals()->set_complaint(true);
    r.mutable_contact()->mutable_signals()->set_sentiment(-0.7);
    r.mutable_contact()->mutable_signals()->add_keywords("refund");
    WriteRequest(dir, "submit-voice", RequestKind::kSubmit, r);
    *r.mutable_contact() = Contact("seed-chat", v1::CHANNEL_CHAT, "general");
    r.mutable_contact()->set_queue("chat_general");
    (*r.mutable_contact()->mutable_attributes())["order"] = "A-1001";
    r.mutable_contact()->mutable_customer()->add_needs(v1::NEED_ELDERLY);
    WriteRequest(dir, "submit-chat-named-queue", RequestKind::kSubmit, r);
    *r.mutable_contact() = Contact("seed-outbound", v1::CHANNEL_CALLBACK, "outage");
    r.mutable_contact()->set_direction(v1::DIRECTION_PROACTIVE_OUTBOUND);
    ToTimestamp(kFuzzNow - absl::Minutes(5), r.mutable_contact()->mutable_problem_detected_at());
    ToTimestamp(kFuzzNow + absl::Hours(2), r.mutable_contact()->mutable_scheduled_for());
    WriteRequest(dir, "submit-outbound-scheduled", RequestKind::kSubmit, r);
  }
  {
    v1::SubmitStreamRequest r;
    r.set_correlation_id(7);
    *r.mutable_contact() = Contact("seed-email", v1::CHANNEL_EMAIL, "orders");
    r.mutable_contact()->set_messaging_network("wechat");
    WriteRequest(dir, "submit-stream-email", RequestKind::kSubmitStream, r);
  }
  {
    v1::UpdateRequest r;
    r.set_contact_id(f.queued_contact);
    r.mutable_signals()->set_emergency(true);
    r.mutable_signals()->set_incident_severity(v1::SEVERITY_SEVERE);
    r.mutable_signals()->set_escalation_level(2);
    r.set_tier(v1::TIER_VIP);
    WriteRequest(dir, "update-signals", RequestKind::kUpdate, r);
    r.Clear();
    r.set_contact_id(f.queued_contact);
    r.set_abandoned(true);
    WriteRequest(dir, "update-abandoned", RequestKind::kUpdate, r);
  }
  {
    v1::CancelRequest r;
    r.set_contact_id(f.queued_contact);
    r.set_reason("customer called back");
    WriteRequest(dir, "cancel", RequestKind::kCancel, r);
  }
  {
    v1::AgentMessage m;
    v1::Login* l = m.mutable_login();
    l->set_agent_id("a-2");
    l->set_display_name("Agent Two");
    v1::Skill* s = l->add_skills();
    s->set_name("general");
    s->set_level(4);
    l->add_languages("en");
    l->add_languages("zh");
    v1::ChannelCapacity* c = l->add_capacities();
    c->set_channel(v1::CHANNEL_VOICE);
    c->set_max_concurrent(1);
    l->set_start_available(true);
    WriteRequest(dir, "agent-login", RequestKind::kAgentLogin, m);
  }
  {
    v1::AgentMessage m;
    m.set_request_id(1);
    m.mutable_accept()->set_offer_id(f.pending_offer);
    WriteRequest(dir, "agent-accept", RequestKind::kAgentCommand, m);
    m.mutable_reject()->set_offer_id(f.pending_offer);
    m.mutable_reject()->set_reason("busy");
    WriteRequest(dir, "agent-reject", RequestKind::kAgentCommand, m);
    m.mutable_complete()->set_contact_id(f.connected_contact);
    m.mutable_complete()->mutable_outcome()->set_resolved(true);
    m.mutable_complete()->mutable_outcome()->set_disposition("refund issued");
    m.mutable_complete()->mutable_outcome()->set_follow_up_due(true);
    WriteRequest(dir, "agent-complete", RequestKind::kAgentCommand, m);
    m.mutable_wrap_up_done()->set_contact_id(f.connected_contact);
    WriteRequest(dir, "agent-wrap-up-done", RequestKind::kAgentCommand, m);
    m.mutable_transfer()->set_contact_id(f.connected_contact);
    m.mutable_transfer()->set_to_queue("chat_general");
    m.mutable_transfer()->set_note("needs billing");
    WriteRequest(dir, "agent-transfer", RequestKind::kAgentCommand, m);
    m.mutable_set_state()->set_state(v1::AGENT_STATE_NOT_READY);
    m.mutable_set_state()->set_reason("lunch");
    WriteRequest(dir, "agent-set-state", RequestKind::kAgentCommand, m);
    m.mutable_heartbeat()->set_sequence(3);
    WriteRequest(dir, "agent-heartbeat", RequestKind::kAgentCommand, m);
  }
  {
    v1::ExplainRequest r;
    r.set_contact_id(f.queued_contact);
    WriteRequest(dir, "explain", RequestKind::kExplain, r);
  }
  {
    v1::ReloadConfigRequest r;
    r.set_config_yaml(std::string(kSmallConfig));
    WriteRequest(dir, "reload-config", RequestKind::kReloadConfig, r);
    r.set_config_yaml(std::string(kConfigWithAliases));
    WriteRequest(dir, "reload-config-with-aliases", RequestKind::kReloadConfig, r);
    r.set_config_yaml(AliasBomb());
    WriteRequest(dir, "reload-config-alias-bomb", RequestKind::kReloadConfig, r);
  }
  {
    v1::SetAgentStateRequest r;
    r.set_agent_id("a-1");
    r.set_state(v1::AGENT_STATE_OFFLINE);
    r.set_reason("shift over");
    WriteRequest(dir, "set-agent-state-offline", RequestKind::kSetAgentState, r);
  }
  {
    v1::WatchEventsRequest r;
    r.set_after_sequence(5);
    WriteRequest(dir, "watch-events", RequestKind::kWatchEvents, r);
  }
}

void ConfigCorpus(const fs::path& dir) {
  Write(dir / "default.yaml", std::string(DefaultConfigYaml()));
  Write(dir / "small.yaml", std::string(kSmallConfig));
  Write(dir / "reload-with-aliases.yaml", std::string(kConfigWithAliases));
  Write(dir / "reload-alias-bomb.yaml", AliasBomb());
}

std::string SnapshotPayload(const Router& router, uint64_t last_index) {
  v1::Snapshot s;
  s.set_format_version(1);
  s.set_last_index(last_index);
  s.set_time_ns(absl::ToUnixNanos(router.now()));
  s.set_config_yaml(std::string(kSmallConfig));
  RouterStateToProto(router.Save(), s.mutable_state());
  return Serialize(s);
}

// A journal from genesis: the config, then random commands. Every
// `snapshot_every` commands a snapshot payload is kept too.
void JournalAndSnapshotCorpus(const fs::path& journal_dir, const fs::path& snapshot_dir) {
  absl::StatusOr<RouterConfig> config = LoadRouterConfig(kSmallConfig);
  CCR_FUZZ_CHECK(config.ok(), config.status().ToString());
  std::unique_ptr<Router> router = *Router::Create(*config);
  testing::RandomCommandOptions options;
  options.agents = 3;
  options.customers = 4;
  testing::RandomCommands gen(/*seed=*/8, kFuzzNow, options);

  std::string genesis = SegmentHeader(1);
  v1::Command first;
  first.set_index(1);
  ToTimestamp(kFuzzNow, first.mutable_time());
  first.mutable_apply_config()->set_config_yaml(std::string(kSmallConfig));
  AppendFrame(Serialize(first), &genesis);

  uint64_t index = 1;
  auto append = [&](std::string* segment, int n) {
    for (int i = 0; i < n; ++i) {
      v1::Command cmd = gen.Next();
      cmd.set_index(++index);
      ApplyCommand(*router, cmd);
      gen.Observe(router->TakeEvents());
      AppendFrame(Serialize(cmd), segment);
    }
  };
  append(&genesis, 40);
  Write(journal_dir / "segment-from-genesis", genesis);
  Write(snapshot_dir / "after-40-commands", SnapshotPayload(*router, index));

  // A snapshot, then the segment after it (recovery's usual start-up).
  std::string snapshot(kSnapshotMagic);
  AppendFrame(SnapshotPayload(*router, index), &snapshot);
  const RouterState snapshot_state = router->Save();
  std::string tail = SegmentHeader(index + 1);
  append(&tail, 30);
  Write(journal_dir / "snapshot-then-segment", snapshot + tail);
  // The same in snapshot format 2 (what engines write), in small chunks.
  std::string chunked;
  absl::StatusOr<SnapshotCounts> counts = WriteSnapshotRecords(
      SnapshotSource{index - 30, kFuzzNow, std::string(kSmallConfig),
                     std::make_shared<RouterState>(snapshot_state)},
      [&chunked](absl::string_view bytes) {
        chunked.append(bytes.data(), bytes.size());
        return absl::OkStatus();
      },
      /*chunk_bytes=*/512);
  CCR_FUZZ_CHECK(counts.ok(), counts.status().ToString());
  Write(journal_dir / "snapshot-v2-then-segment", chunked + tail);
  Write(snapshot_dir / "after-70-commands", SnapshotPayload(*router, index));

  // A torn tail: the last record cut short.
  Write(journal_dir / "torn-tail", genesis.substr(0, genesis.size() - 5));
}

}  // namespace
}  // namespace ccr::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus CORPUS_DIR (tests/fuzz/corpus)\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  ccr::fuzz::RequestCorpus(dir / "request");
  ccr::fuzz::ConfigCorpus(dir / "config");
  ccr::fuzz::JournalAndSnapshotCorpus(dir / "journal", dir / "snapshot");
  return 0;
}
