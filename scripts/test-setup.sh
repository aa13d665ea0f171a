#!/usr/bin/env bash
# Installs and starts what the test suite needs on a fresh Debian machine, and nothing that is
# already there: Debian's chromium for the browser tests, a running PostgreSQL for the
# PostgreSQL store's tests, qemu-user for running the arm64 and loong64 servers, rpm for reading
# the built .rpm packages back. Idempotent; run as root (CI is).
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
# Chinese glyphs for the browser tests' screenshots (the app defaults to Simplified Chinese).
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need_apt+=(fonts-wqy-zenhei)
# The cross-built servers' smoke test (cmd/borderwatch TestCrossBuildSmoke) and the packages'
# test (deploy/package); making the packages needs neither.
{ command -v qemu-aarch64-static && command -v qemu-loongarch64-static; } >/dev/null 2>&1 || need_apt+=(qemu-user-static)
command -v rpm >/dev/null 2>&1 || need_apt+=(rpm)
if ((${#need_apt[@]})); then
	echo "test-setup: installing ${need_apt[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_ready; then
	echo "test-setup: starting PostgreSQL"
	version=$(ls /etc/postgresql | sort -V | tail -n 1)
	pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
	for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
	pg_ready || { echo "test-setup: PostgreSQL did not start" >&2; exit 1; }
fi
# The tests create and drop their own databases from the database "test".
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
	psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null
fi
echo "test-setup: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), $(qemu-loongarch64-static --version | head -n 1), PostgreSQL ready"
