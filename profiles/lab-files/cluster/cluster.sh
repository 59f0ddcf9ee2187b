#!/bin/bash
# A node of profiles/cluster-shared-disk.yaml: chrony, Pacemaker and Corosync for the cluster
# $1 whose nodes are the space-separated names in $2.  Safe to run again.
set -euo pipefail
domain="$1"
read -r -a nodes <<< "$2"
export DEBIAN_FRONTEND=noninteractive

apt-get install -y -q chrony pacemaker corosync pcs

# Corosync on the interconnect: each node by its name, resolved through /etc/hosts.
{
    echo "totem {"
    echo "  version: 2"
    echo "  cluster_name: ${domain%%.*}"
    echo "  transport: knet"
    echo "}"
    echo "nodelist {"
    id=1
    for node in "${nodes[@]}"; do
        echo "  node { name: ${node} ring0_addr: ${node} nodeid: ${id} }"
        id=$((id + 1))
    done
    echo "}"
    echo "quorum {"
    echo "  provider: corosync_votequorum"
    echo "  two_node: 1"
    echo "}"
} > /etc/corosync/corosync.conf
systemctl restart corosync pacemaker

# Both nodes see the same disk: its serial number is the same on each.
lsblk -d -o NAME,SIZE,SERIAL
