#!/usr/bin/env bash
# Installs what plasmactl's lab and tests need on a fresh Debian/Ubuntu machine, then builds.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v openssl >/dev/null || need+=(openssl)
command -v sudo >/dev/null || need+=(sudo)
command -v ovsdb-server >/dev/null || need+=(ovn-central)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
# The real tools the interop tests use as oracles.
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v crontab >/dev/null || need+=(cron)
command -v promtool >/dev/null || need+=(prometheus)
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || need+=(python3-prometheus-client)
for extra in ${PLASMACTL_EXTRA_PACKAGES:-}; do need+=("$extra"); done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<17)) {console.error("setup: Node >= 20.17 required, found "+process.version); process.exitCode=2}'
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup: build" >&2
npm run -s build
