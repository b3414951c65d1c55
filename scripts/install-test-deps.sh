#!/usr/bin/env bash
# Installs the real servers that internal/testenv starts in tests:
# Mosquitto and its clients, VictoriaMetrics, pymodbus for /usr/bin/python3,
# socat and openssl; Chromium (with a CJK font, so screenshots show the
# console's Chinese) for the console's browser tests; and Node.js with npm,
# which build the console, when the machine has no npm of its own.
# Debian/Ubuntu only (apt-get).
#
# Idempotent: it installs only the packages that are missing, runs
# `apt-get update` only when something is, and prints nothing when
# everything is already there. It uses sudo only when not run as root.
set -euo pipefail

packages=(mosquitto mosquitto-clients victoria-metrics python3-pymodbus socat openssl chromium fonts-wqy-zenhei)
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-test-deps: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi

echo "install-test-deps: installing ${missing[*]}"
${sudo[@]+"${sudo[@]}"} apt-get update -qq
${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Check what the tests rely on, not only the package database.
for bin in mosquitto mosquitto_passwd mosquitto_pub mosquitto_sub victoria-metrics socat openssl chromium npm; do
	if ! command -v "$bin" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$bin" ]; then
		echo "install-test-deps: $bin not found after install" >&2
		exit 1
	fi
done
if ! /usr/bin/python3 -c 'import pymodbus.server' 2>/dev/null; then
	echo "install-test-deps: /usr/bin/python3 cannot import pymodbus after install" >&2
	exit 1
fi
