#!/usr/bin/env bash
# Makes sure NATS (with JetStream) and PostgreSQL are installed and running
# on this machine, installing them from Debian's packages when missing.
# Idempotent: safe to run again while they run. Needs root (or sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
updated=0
apt_install() {
  if [ "$updated" -eq 0 ]; then $SUDO apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # name seconds command...
  local name=$1 secs=$2; shift 2
  for _ in $(seq 1 "$secs"); do
    if "$@"; then return 0; fi
    sleep 1
  done
  echo "services: $name did not come up within ${secs}s" >&2
  return 1
}

# --- openssl (the NATS TLS test makes its certificates with it) ----------
if ! command -v openssl >/dev/null 2>&1; then
  echo "services: installing openssl"
  apt_install openssl
fi

# --- NATS with JetStream -------------------------------------------------
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  echo "services: installing nats-server"
  apt_install nats-server
fi
NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
if ! port_open 4222; then
  echo "services: starting nats-server with JetStream on 127.0.0.1:4222"
  $SUDO mkdir -p /var/lib/nats-server
  $SUDO start-stop-daemon --start --oknodo --background --exec "$NATS_BIN" -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
wait_for nats 30 port_open 4222
jetstream_on() {
  local info
  info=$(exec 3<>/dev/tcp/127.0.0.1/4222 && timeout 3 head -n 1 <&3) || return 1
  case "$info" in *'"jetstream":true'*) return 0 ;; *) return 1 ;; esac
}
wait_for "NATS JetStream" 15 jetstream_on

# --- PostgreSQL ------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "services: installing postgresql"
  apt_install postgresql
fi
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! pg_up; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "services: starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
wait_for postgresql 60 pg_up
# The test database vigie's PostgreSQL tests use (created once).
if ! $SUDO -u postgres psql -h 127.0.0.1 -tAc "SELECT 1 FROM pg_database WHERE datname = 'vigie_test'" 2>/dev/null | grep -q 1 \
   && ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'vigie_test'" 2>/dev/null | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE vigie_test" 2>/dev/null \
    || su postgres -c "psql -qc 'CREATE DATABASE vigie_test'" 2>/dev/null \
    || echo "services: could not create database vigie_test (check pg_hba.conf)" >&2
fi
echo "services: NATS JetStream on 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432 are up"
