#!/usr/bin/env bash
# Debian packages the test suite drives for real: Prometheus (prometheus, promtool),
# Alertmanager (prometheus-alertmanager, amtool), headless Chromium with its driver for the
# operator page's end-to-end tests (chromium, chromedriver) and poppler's pdftoppm, which draws the
# notices' PDF pages as a reader sees them. Idempotent and quiet when all are present.
# As root it installs what is missing; otherwise it says what to install and exits 0, and the
# tests that need a missing tool fail with a message naming this script.
set -euo pipefail

declare -A pkg_for=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
  [chromium]=chromium
  [chromedriver]=chromium-driver
  [pdftoppm]=poppler-utils
)
missing=()
for bin in "${!pkg_for[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${pkg_for[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: not root; install these Debian packages for the full suite: ${missing[*]}"
  exit 0
fi
echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start their services under systemd where there is one; the tests start their own.
