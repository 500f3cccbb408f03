#!/usr/bin/env bash
# Cluster mode on one machine, for trying it: 3 etcd members and 3 ccrouterd
# nodes on loopback (CLUSTER.md). One node owns the routing domain; the other
# two stand by and redirect clients to it. Kill the owner (kill -9 PID) and
# watch a standby take over within a few seconds.
#
#   deploy/cluster/run-local.sh [CCROUTERD]     (default build/engine/ccrouterd)
#
# Ports: etcd clients 2379, 22379, 32379 (peers 2380, 22380, 32380); the
# nodes' gRPC 7700, 7710, 7720 and HTTP 7701, 7711, 7721. Try:
#   build/tools/ccctl/ccctl --server 127.0.0.1:7700,127.0.0.1:7710,127.0.0.1:7720 queues
#   etcdctl --endpoints 127.0.0.1:2379 get --prefix /ccrouter/default/election/
# Ctrl-C stops everything; the data lives in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
ccrouterd=${1:-build/engine/ccrouterd}
[ -x "$ccrouterd" ] || { echo "no $ccrouterd: build it first (tools/run builds it)" >&2; exit 2; }
command -v etcd >/dev/null || { echo "no etcd: run tools/install-deps" >&2; exit 2; }
work=$(mktemp -d /tmp/ccr-cluster-XXXXXX)
cleanup() {
  trap - EXIT INT TERM
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
  exit 0
}
trap cleanup EXIT INT TERM

cluster=etcd0=http://127.0.0.1:2380,etcd1=http://127.0.0.1:22380,etcd2=http://127.0.0.1:32380
for i in 0 1 2; do
  client=$(( i == 0 ? 2379 : i * 10000 + 12379 ))
  peer=$(( client + 1 ))
  etcd --name "etcd$i" --data-dir "$work/etcd$i" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token ccr-local \
    --logger zap --log-outputs stderr --log-level error 2>"$work/etcd$i.log" &
done
endpoints=127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379
for i in 0 1 2; do
  grpc=$(( 7700 + 10 * i ))
  "$ccrouterd" --listen "127.0.0.1:$grpc" --http-listen "127.0.0.1:$(( grpc + 1 ))" \
    --etcd-endpoints "$endpoints" 2>"$work/node$i.log" &
  echo "node$i: pid $! grpc 127.0.0.1:$grpc http 127.0.0.1:$(( grpc + 1 )) log $work/node$i.log"
done
echo "etcd: $endpoints (logs in $work); Ctrl-C stops everything"
wait
