#!/usr/bin/env bash
# Separate "hosts" on one machine: network namespaces with their own address on a bridge (root only).
#
#   deploy/netns.sh up NAME COUNT SUBNET   namespaces NAME-0..COUNT-1; NAME-i has SUBNET.(10+i) on a veth whose other
#                                          end is on bridge NAME-br (SUBNET.1, in this namespace: the host reaches all)
#   deploy/netns.sh down NAME              kills every process in NAME-*, deletes the namespaces, veths and bridge
#   deploy/netns.sh cut NAME I             takes NAME-I's link down (a partition: its processes keep running)
#   deploy/netns.sh heal NAME I            brings it back
#   deploy/netns.sh pids NAME I            the processes in NAME-I
#   deploy/netns.sh cluster NAME COUNT SUBNET DIR
#                                          up, then redis-server in NAME-0 and `cluster agent` in NAME-1..COUNT-1
#                                          (one rank each), logs and pids under DIR; stop with `down`
# NAME: at most 8 characters (interface names are 15 at most). SUBNET: three octets, e.g. 10.213.7; it must not be
# routed on this machine already (checked). Only addresses made here are used.
set -euo pipefail

die() { echo "netns.sh: $*" >&2; exit 2; }
[[ $(id -u) == 0 ]] || die "needs root (ip netns)"
cmd=${1:-}; name=${2:-}
[[ $name =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "NAME must be 1-8 lower-case letters or digits, starting with a letter (got '${name}')"

namespaces() { ip netns list | awk '{print $1}' | grep -E "^${name}-[0-9]+$" || true; }

down() {
  for ns in $(namespaces); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  done
  for ns in $(namespaces); do
    for _ in $(seq 50); do [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break; sleep 0.1; done
    ip netns delete "$ns" 2>/dev/null || true
  done
  for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^${name}-(h[0-9]+|br)$" || true); do
    ip link delete "$link" 2>/dev/null || true
  done
}

up() {
  local count=$1 subnet=$2
  [[ $count =~ ^[0-9]+$ && $count -ge 1 && $count -le 40 ]] || die "COUNT must be 1..40 (got '$count')"
  [[ $subnet =~ ^(10|172|192)\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "SUBNET must be three octets of a private range, e.g. 10.213.7 (got '$subnet')"
  if ip -4 route show | grep -q "^${subnet}\.0/24"; then die "${subnet}.0/24 is routed here already"; fi
  down
  trap 'down' ERR
  ip link add "${name}-br" type bridge
  ip addr add "${subnet}.1/24" dev "${name}-br"
  ip link set "${name}-br" up
  for i in $(seq 0 $((count - 1))); do
    local ns="${name}-${i}"
    ip netns add "$ns"
    ip link add "${name}-h${i}" type veth peer name "${name}-n${i}"
    ip link set "${name}-n${i}" netns "$ns"
    ip -n "$ns" link set "${name}-n${i}" name eth0
    ip -n "$ns" addr add "${subnet}.$((10 + i))/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "${subnet}.1"
    ip link set "${name}-h${i}" master "${name}-br"
    ip link set "${name}-h${i}" up
  done
  trap - ERR
}

link() { # NAME I up|down
  [[ ${1:-} =~ ^[0-9]+$ ]] || die "I must be a namespace number (got '${1:-}')"
  ip link show "${name}-h$1" >/dev/null 2>&1 || die "no namespace ${name}-$1"
  ip link set "${name}-h$1" "$2"
}

case $cmd in
  up) up "${3:?COUNT}" "${4:?SUBNET}" ;;
  down) down ;;
  cut) link "${3:-}" down ;;
  heal) link "${3:-}" up ;;
  pids) [[ ${3:-} =~ ^[0-9]+$ ]] || die "I must be a namespace number"; ip netns pids "${name}-$3" ;;
  cluster)
    count=${3:?COUNT}; subnet=${4:?SUBNET}; dir=${5:?DIR}
    [[ $count -ge 2 ]] || die "a cluster needs COUNT >= 2 (redis + one agent)"
    up "$count" "$subnet"
    mkdir -p "$dir"
    cli=${CLUSTER_CLI:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src/Cluster.Cli/bin/Release/net10.0/cluster.dll}
    [[ -f $cli ]] || die "no $cli: build first (dotnet build -c Release src/Cluster.Cli)"
    ip netns exec "${name}-0" redis-server --bind "${subnet}.10" --port 6379 --save "" --appendonly yes --dir "$dir" \
      --protected-mode no >"$dir/redis.log" 2>&1 &
    for i in $(seq 1 $((count - 1))); do
      ip netns exec "${name}-${i}" dotnet "$cli" agent --redis "${subnet}.10:6379" --advertise-host "${subnet}.$((10 + i))" \
        --node-id "node-${i}" --host-id "node-${i}" --nproc-per-node 1 --logs "$dir/logs" >"$dir/agent-${i}.log" 2>&1 &
    done
    echo "redis ${subnet}.10:6379; agents node-1..node-$((count - 1)) at ${subnet}.11..; logs in $dir"
    echo "submit: dotnet $cli submit JOB.yaml --redis ${subnet}.10:6379;  stop: $0 down $name"
    ;;
  *) die "usage: netns.sh up|down|cut|heal|cluster NAME ..." ;;
esac
