// Applying journal commands to the router (what live traffic and replay share).
#include "engine/apply.h"

#include <memory>

#include "codec/config_loader.h"
#include "codec/testing/fixtures.h"
#include "codec/wire.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::ccr::testing::DefaultConfig;
using ::ccr::testing::kNow;
using ::ccr::testing::ValidContact;

TEST(UpdateMerge, ApplyKeepsWhatAnUpdateDoesNotSend) {
  absl::StatusOr<std::unique_ptr<Router>> router = Router::Create(DefaultConfig());
  ASSERT_TRUE(router.ok()) << router.status();
  v1::Command submit;
  ToTimestamp(kNow, submit.mutable_time());
  *submit.mutable_submit()->mutable_contact() = ValidContact();
  submit.mutable_submit()->mutable_contact()->mutable_signals()->set_emergency(true);
  const ApplyResult submitted = ApplyCommand(**router, submit);
  ASSERT_TRUE(submitted.status.ok()) << submitted.status;
  const ContactId id = submitted.submit->contact;

  v1::Command update;
  ToTimestamp(kNow + absl::Seconds(1), update.mutable_time());
  update.mutable_update()->set_contact_id(ContactIdString(id));
  update.mutable_update()->mutable_signals()->set_sentiment(-0.4);
  update.set_update_merges_signals(true);
  ASSERT_TRUE(ApplyCommand(**router, update).status.ok());
  absl::StatusOr<ContactView> after = (*router)->GetContact(id, kNow + absl::Seconds(1));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->signals.emergency);
  EXPECT_DOUBLE_EQ(after->signals.sentiment, -0.4);

  update.set_update_merges_signals(false);  // as an old journal record
  ToTimestamp(kNow + absl::Seconds(2), update.mutable_time());
  ASSERT_TRUE(ApplyCommand(**router, update).status.ok());
  after = (*router)->GetContact(id, kNow + absl::Seconds(2));
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->signals.emergency);
}

}  // namespace
}  // namespace ccr
