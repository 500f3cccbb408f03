// The pages on a real HttpServer: paths, content types, the headers every
// page carries, 404 for an unknown asset, 405, HEAD; and the embedded pages
// themselves (every asset they reference is served, nothing inline that the
// Content-Security-Policy would block).
#include "engine/web/web_pages.h"

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "boost/asio/executor_work_guard.hpp"
#include "engine/web/http_api.h"
#include "engine/web/http_test_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ccr {
namespace {

using ::ccr::testing::HttpAnswer;
using ::ccr::testing::HttpCall;
using ::testing::HasSubstr;

constexpr WebAsset kFakeAssets[] = {
    {"wallboard.html", "<!doctype html><title>w</title>"},
    {"desk.html", "<!doctype html><title>d</title>"},
    {"app.js", "console.log(1);\n"},
    {"style.css", "body{}\n"},
    {"logo.svg", "<svg/>"},
    {"blob.dat", "x"},
};

// WebPages (with `assets`) on a real HttpServer; any other path answers 418,
// so a test sees whether WebPages took the request.
class WebPagesTest : public ::testing::Test {
 protected:
  void Start(absl::Span<const WebAsset> assets) {
    pages_ = std::make_unique<WebPages>(assets);
    HttpServerOptions options;
    options.allowed_methods = HttpApiMethods();
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
        io_, "127.0.0.1", 0,
        [this](const HttpRequest& request, HttpRespond respond) {
          if (pages_->Handle(request, respond)) return;
          respond({418, "text/plain; charset=utf-8", "not a page\n"});
        },
        options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  HttpAnswer Get(const std::string& target, const std::string& method = "GET") {
    return HttpCall(server_->port(), method, target);
  }

  std::unique_ptr<WebPages> pages_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

void ExpectPageHeaders(const HttpAnswer& a) {
  EXPECT_EQ(a.header("cache-control"), "no-cache");
  EXPECT_EQ(a.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(a.header("content-security-policy"), std::string(kWebPagesCsp));
  EXPECT_EQ(a.header("referrer-policy"), "no-referrer");
}

TEST_F(WebPagesTest, PagesAndAssetsAreServedWithTheirTypesAndHeaders) {
  Start(kFakeAssets);
  struct Case {
    std::string path, content_type, body;
  };
  for (const Case& c : std::vector<Case>{
           {"/wallboard", "text/html; charset=utf-8", "<!doctype html><title>w</title>"},
           {"/desk", "text/html; charset=utf-8", "<!doctype html><title>d</title>"},
           {"/web/app.js", "text/javascript; charset=utf-8", "console.log(1);\n"},
           {"/web/style.css", "text/css; charset=utf-8", "body{}\n"},
           {"/web/logo.svg", "image/svg+xml", "<svg/>"},
           {"/web/blob.dat", "application/octet-stream", "x"},
       }) {
    SCOPED_TRACE(c.path);
    const HttpAnswer a = Get(c.path);
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.header("content-type"), c.content_type);
    EXPECT_EQ(a.body, c.body);
    ExpectPageHeaders(a);
  }
}

TEST_F(WebPagesTest, AnUnknownAssetIs404WithTheSameHeaders) {
  Start(kFakeAssets);
  for (const std::string path :
       {"/web/missing.js", "/web/", "/web/../desk.html", "/web/wallboard.html", "/web/app.js/"}) {
    SCOPED_TRACE(path);
    const HttpAnswer a = Get(path);
    EXPECT_EQ(a.status, 404);
    EXPECT_THAT(a.body, HasSubstr("/wallboard and /desk"));
    ExpectPageHeaders(a);
  }
}

TEST_F(WebPagesTest, OtherPathsAreLeftToTheNextHandler) {
  Start(kFakeAssets);
  for (const std::string path : {"/", "/wallboard/", "/wallboards", "/desk.html", "/metrics",
                                 "/v1/queues", "/webx/app.js"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(Get(path).status, 418);
  }
}

TEST_F(WebPagesTest, HeadAnswersTheHeadersOfGetWithoutTheBody) {
  Start(kFakeAssets);
  const HttpAnswer a = Get("/web/app.js", "HEAD");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(a.header("content-length"), "16");
  EXPECT_EQ(a.body, "");
  ExpectPageHeaders(a);
}

TEST_F(WebPagesTest, OtherMethodsAre405NamingGetAndHead) {
  Start(kFakeAssets);
  for (const std::string method : {"POST", "PATCH"}) {
    SCOPED_TRACE(method);
    const HttpAnswer a =
        HttpCall(server_->port(), method, "/desk", {{"Content-Type", "application/json"}}, "{}");
    EXPECT_EQ(a.status, 405);
    EXPECT_EQ(a.header("allow"), "GET, HEAD");
  }
}

TEST(WebPagesPathTest, HtmlFilesArePagesAndTheRestLiveUnderWeb) {
  EXPECT_EQ(WebPages::PathOf("wallboard.html"), "/wallboard");
  EXPECT_EQ(WebPages::PathOf("desk.html"), "/desk");
  EXPECT_EQ(WebPages::PathOf("desk.js"), "/web/desk.js");
  EXPECT_EQ(WebPages::ContentTypeOf("x.json"), "application/json; charset=utf-8");
}

// The embedded pages as built: both are there, every /web/ asset a page
// names is served, and nothing in them needs what the policy forbids
// (inline scripts, inline styles, event-handler attributes, other origins).
TEST_F(WebPagesTest, TheEmbeddedPagesAreCompleteAndNeedNothingThePolicyForbids) {
  Start(EmbeddedWebAssets());
  for (const std::string page : {"/wallboard", "/desk"}) {
    SCOPED_TRACE(page);
    const HttpAnswer a = Get(page);
    ASSERT_EQ(a.status, 200);
    const std::string& html = a.body;
    EXPECT_THAT(html, HasSubstr("<html lang="));
    const std::regex reference(R"re((?:src|href)="([^"]*)")re");
    std::set<std::string> referenced;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), reference);
         it != std::sregex_iterator(); ++it) {
      referenced.insert((*it)[1].str());
    }
    EXPECT_FALSE(referenced.empty());
    for (const std::string& target : referenced) {
      SCOPED_TRACE(target);
      EXPECT_EQ(target.rfind("/web/", 0), 0u) << "only same-origin /web/ assets";
      EXPECT_EQ(Get(target).status, 200);
    }
    const std::regex script_tag(R"re(<script([^>]*)>)re");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag);
         it != std::sregex_iterator(); ++it) {
      EXPECT_THAT((*it)[1].str(), HasSubstr("src=")) << "an inline script";
    }
    EXPECT_FALSE(std::regex_search(html, std::regex(R"re(\sstyle=)re"))) << "an inline style";
    EXPECT_FALSE(std::regex_search(html, std::regex(R"re(\son[a-z]+=)re")))
        << "a handler attribute";
    EXPECT_THAT(html, ::testing::Not(HasSubstr("<style")));
    EXPECT_THAT(html, ::testing::Not(HasSubstr("http://")));
    EXPECT_THAT(html, ::testing::Not(HasSubstr("https://")));
  }
}

}  // namespace
}  // namespace ccr
