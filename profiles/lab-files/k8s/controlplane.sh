#!/bin/bash
# The control plane of profiles/k8s-lab.yaml: kubeadm init on address $1 with the bootstrap
# token $2 (the workers join with it), Calico for pods, kubectl for the vagrant user.
set -euo pipefail
address="$1"
token="$2"

if [ ! -f /etc/kubernetes/admin.conf ]; then
    kubeadm init --apiserver-advertise-address="$address" --token "$token" --token-ttl 0 \
        --pod-network-cidr=192.168.0.0/16 --node-name "$(hostname)"
fi
install -d -o vagrant -g vagrant /home/vagrant/.kube
install -o vagrant -g vagrant -m 600 /etc/kubernetes/admin.conf /home/vagrant/.kube/config

export KUBECONFIG=/etc/kubernetes/admin.conf
kubectl apply -f https://raw.githubusercontent.com/projectcalico/calico/v3.27.3/manifests/calico.yaml
# Calico would take the first interface's address: the NAT one, the same on every machine.
kubectl -n kube-system set env daemonset/calico-node IP_AUTODETECTION_METHOD=cidr=10.0.0.0/24
