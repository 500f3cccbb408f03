#include "engine/testing/etcd_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace ccr::testing {
namespace {

// A loopback port nobody listens on now (the kernel's pick for port 0).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

EtcdCluster::EtcdCluster(int members, std::string binary) : binary_(std::move(binary)) {
  std::vector<std::string> peers;
  for (int i = 0; i < members; ++i) {
    Member m;
    m.name = absl::StrCat("etcd", i);
    m.client = absl::StrCat("127.0.0.1:", FreePort());
    m.peer = absl::StrCat("127.0.0.1:", FreePort());
    m.data_dir = dir_.Path(m.name);
    m.log_path = dir_.Path(m.name + ".log");
    peers.push_back(absl::StrCat(m.name, "=http://", m.peer));
    members_.push_back(std::move(m));
  }
  initial_cluster_ = absl::StrJoin(peers, ",");
}

EtcdCluster::~EtcdCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
}

bool EtcdCluster::Available(const std::string& binary) {
  return ::access(binary.c_str(), X_OK) == 0;
}

std::string EtcdCluster::endpoints() const {
  std::vector<std::string> all;
  for (const Member& m : members_) all.push_back(m.client);
  return absl::StrJoin(all, ",");
}

std::string EtcdCluster::LogOf(int i) const {
  std::ifstream in(members_[i].log_path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status EtcdCluster::Start(absl::Duration timeout) {
  if (dir_.path().empty()) return absl::InternalError("no temp dir for etcd");
  for (int i = 0; i < size(); ++i) {
    if (absl::Status s = Spawn(i, /*new_cluster=*/true); !s.ok()) return s;
  }
  const absl::Time deadline = absl::Now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (absl::Status s = WaitServing(i, deadline); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status EtcdCluster::Restart(int i, absl::Duration timeout) {
  Kill(i);
  if (absl::Status s = Spawn(i, /*new_cluster=*/false); !s.ok()) return s;
  return WaitServing(i, absl::Now() + timeout);
}

absl::Status EtcdCluster::Spawn(int i, bool new_cluster) {
  Member& m = members_[i];
  const std::vector<std::string> args = {
      binary_,
      "--name=" + m.name,
      "--data-dir=" + m.data_dir,
      "--listen-client-urls=http://" + m.client,
      "--advertise-client-urls=http://" + m.client,
      "--listen-peer-urls=http://" + m.peer,
      "--initial-advertise-peer-urls=http://" + m.peer,
      "--initial-cluster=" + initial_cluster_,
      absl::StrCat("--initial-cluster-state=", new_cluster ? "new" : "existing"),
      absl::StrCat("--initial-cluster-token=ccr-test-", ::getpid()),
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=warn",
  };
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int log_fd = ::open(m.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return absl::InternalError(absl::StrCat("cannot open ", m.log_path));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  m.pid = pid;
  return absl::OkStatus();
}

absl::Status EtcdCluster::WaitServing(int i, absl::Time deadline) const {
  const Member& m = members_[i];
  std::string last_error = "not asked yet";
  while (absl::Now() < deadline) {
    int status = 0;
    if (m.pid > 0 && ::waitpid(m.pid, &status, WNOHANG) == m.pid) {
      return absl::InternalError(absl::StrCat(m.name, " exited at start: ", LogOf(i)));
    }
    // A new channel each time: a member still starting refuses connections,
    // and a channel that saw that waits out gRPC's reconnect backoff.
    auto maintenance = etcdserverpb::Maintenance::NewStub(
        grpc::CreateChannel(m.client, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    etcdserverpb::StatusResponse reply;
    const grpc::Status s = maintenance->Status(&context, etcdserverpb::StatusRequest(), &reply);
    if (s.ok() && reply.leader() != 0) return absl::OkStatus();
    last_error = s.ok() ? "no leader yet" : s.error_message();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat(m.name, " at ", m.client, " not serving: ", last_error, "\n", LogOf(i)));
}

void EtcdCluster::Kill(int i) {
  Member& m = members_[i];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGKILL);
  ::waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

// kill() returns before the member has stopped: its threads stop as each next
// enters the kernel, and until then a request may still be answered. Stop
// returns only once the whole process is stopped (waitpid reports a group stop
// only when every thread has stopped), so what a test sends after it is not
// answered until Resume.
void EtcdCluster::Stop(int i) {
  Member& m = members_[i];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGSTOP);
  int status = 0;
  while (::waitpid(m.pid, &status, WUNTRACED) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) || WIFSIGNALED(status)) m.pid = -1;  // it had died
}

void EtcdCluster::Resume(int i) {
  Member& m = members_[i];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGCONT);
  int status = 0;
  while (::waitpid(m.pid, &status, WCONTINUED) < 0 && errno == EINTR) {
  }
}

}  // namespace ccr::testing
