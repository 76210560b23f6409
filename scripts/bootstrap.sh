#!/usr/bin/env bash
# Installs what tsvirt needs on a fresh machine: Debian packages (as root) and npm packages.
# Runtime needs: qemu-system-x86, dnsmasq, nftables, iproute2. Test oracles only (never used
# by tsvirt at run time): libvirt-clients (virsh), python3-libvirt, libvirt0 (RelaxNG schemas),
# libvirt-daemon (libvirtd, the benchmark peer) and iptables (its network driver), qemu-utils (qemu-img), libxml2-utils (xmllint), gnutls-bin, virtinst (virt-install, virt-xml). Guest parts for tests:
# linux-image-cloud-amd64 (kernel) and busybox-static (initrd built by the test suite).
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(qemu-system-x86 qemu-utils dnsmasq-base nftables iproute2 openssl cpio
      libvirt-clients python3-libvirt libvirt0 libvirt-daemon libxml2-utils gnutls-bin
      iptables busybox-static linux-image-cloud-amd64 virtinst)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/tsvirt-apt.log 2>&1 \
      || { tail -30 /tmp/tsvirt-apt.log; exit 1; }
  else
    echo "bootstrap: not root; missing Debian packages (some tests will skip): ${missing[*]}" >&2
  fi
fi

# npm packages: install when node_modules is absent or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci"
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | tee /tmp/tsvirt-npm.log
  # Direct dependencies must support Node 20 (DEPENDENCIES.md §0).
  direct=$(node -e 'const p=require("./package.json");console.log(Object.keys({...p.dependencies,...p.devDependencies}).join("|"))')
  if grep -E "EBADENGINE.*package: '(${direct})@" /tmp/tsvirt-npm.log; then
    echo "bootstrap: a direct dependency does not support this Node version" >&2; exit 1
  fi
fi
bash scripts/build-native.sh # optional native addon (SEEK_DATA, fallocate); warns and goes on without a compiler
