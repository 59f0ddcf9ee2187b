#!/bin/bash
# Every node of profiles/k8s-lab.yaml: containerd, and kubeadm, kubelet, kubectl of the
# Kubernetes minor version given as $1 (e.g. 1.29).  Safe to run again.
set -euo pipefail
K8S_VERSION="$1"
export DEBIAN_FRONTEND=noninteractive

swapoff -a
sed -i '/\sswap\s/ s/^#*/#/' /etc/fstab
printf 'overlay\nbr_netfilter\n' > /etc/modules-load.d/k8s.conf
modprobe overlay
modprobe br_netfilter
printf '%s\n' 'net.bridge.bridge-nf-call-iptables = 1' 'net.bridge.bridge-nf-call-ip6tables = 1' \
    'net.ipv4.ip_forward = 1' > /etc/sysctl.d/k8s.conf
sysctl --system >/dev/null

apt-get update -q
apt-get install -y -q containerd apt-transport-https ca-certificates curl gpg
mkdir -p /etc/containerd
containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/' > /etc/containerd/config.toml
systemctl restart containerd

mkdir -p /etc/apt/keyrings
curl -fsSL "https://pkgs.k8s.io/core:/stable:/v${K8S_VERSION}/deb/Release.key" |
    gpg --dearmor --yes -o /etc/apt/keyrings/kubernetes.gpg
echo "deb [signed-by=/etc/apt/keyrings/kubernetes.gpg] https://pkgs.k8s.io/core:/stable:/v${K8S_VERSION}/deb/ /" \
    > /etc/apt/sources.list.d/kubernetes.list
apt-get update -q
apt-get install -y -q kubelet kubeadm kubectl
apt-mark hold kubelet kubeadm kubectl

# The kubelet speaks on the lab network (10.0.0.0/24), not on the NAT address every machine shares.
ip=$(ip -4 -o addr show | awk '$4 ~ /^10\.0\.0\./ {split($4, a, "/"); print a[1]; exit}')
echo "KUBELET_EXTRA_ARGS=--node-ip=${ip}" > /etc/default/kubelet
systemctl restart kubelet
