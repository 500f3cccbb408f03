// EtcdCluster: real etcd members (Debian's etcd-server 3.4, /usr/bin/etcd)
// started by a test on free loopback ports, each in a data directory of its
// own under one TempDir; killed with the fixture.
//
//   EtcdCluster etcd(3);                 // a 3-member cluster
//   ASSERT_TRUE(etcd.Start().ok());      // waits until every member serves
//   auto channel = grpc::CreateChannel(etcd.endpoint(0), ...);
//   etcd.Kill(1);                        // SIGKILL one member
//   etcd.Stop(2); etcd.Resume(2);        // SIGSTOP / SIGCONT
//   ASSERT_TRUE(etcd.Restart(1).ok());   // same data dir, same ports
//
// Members are children of the test process: a test that dies leaves no etcd
// behind (each member gets SIGKILL when its parent dies, PR_SET_PDEATHSIG).
#ifndef CCROUTER_ENGINE_TESTING_ETCD_CLUSTER_H_
#define CCROUTER_ENGINE_TESTING_ETCD_CLUSTER_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/testing/temp_dir.h"

namespace ccr::testing {

class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 1, std::string binary = "/usr/bin/etcd");
  ~EtcdCluster();  // kills every member
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // True when the etcd binary is there (install-deps installs etcd-server).
  static bool Available(const std::string& binary = "/usr/bin/etcd");

  // Starts every member and waits until each answers a read (Maintenance
  // .Status) within `timeout`.
  absl::Status Start(absl::Duration timeout = absl::Seconds(30));

  int size() const { return static_cast<int>(members_.size()); }
  // "127.0.0.1:PORT" of member i's client port, for grpc::CreateChannel.
  const std::string& endpoint(int i) const { return members_[i].client; }
  // Every member's client endpoint, comma-separated.
  std::string endpoints() const;
  // The member's log (stdout and stderr), for a failing test to print.
  std::string LogOf(int i) const;

  void Kill(int i);                                                         // SIGKILL, reaped
  void Stop(int i);                                                         // SIGSTOP
  void Resume(int i);                                                       // SIGCONT
  absl::Status Restart(int i, absl::Duration timeout = absl::Seconds(30));  // after Kill
  bool running(int i) const { return members_[i].pid > 0; }

 private:
  struct Member {
    std::string name;
    std::string client;  // 127.0.0.1:port
    std::string peer;    // 127.0.0.1:port
    std::string data_dir;
    std::string log_path;
    pid_t pid = -1;
  };

  absl::Status Spawn(int i, bool new_cluster);
  absl::Status WaitServing(int i, absl::Time deadline) const;

  const std::string binary_;
  TempDir dir_{"ccr-etcd"};
  std::vector<Member> members_;
  std::string initial_cluster_;
};

}  // namespace ccr::testing

#endif  // CCROUTER_ENGINE_TESTING_ETCD_CLUSTER_H_
