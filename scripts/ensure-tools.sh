#!/usr/bin/env bash
# Makes sure the real tools the tests run are installed: promtool and
# prometheus (package prometheus), alertmanager and amtool (package
# prometheus-alertmanager), docker-compose for validating the stack file,
# mtail for the benchmark's comparison, and Chromium for the status page test.
# Installs the missing ones with apt-get when run as root; otherwise says
# what to install and fails.
set -euo pipefail

declare -A package_of=(
  [promtool]=prometheus
  [prometheus]=prometheus
  [amtool]=prometheus-alertmanager
  [prometheus-alertmanager]=prometheus-alertmanager
  [docker-compose]=docker-compose
  [mtail]=mtail
  [chromium]=chromium
  [openssl]=openssl
)

missing=()
for tool in "${!package_of[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these Debian packages: $packages" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y $packages" >&2
  exit 1
fi

echo "Installing test tools: $packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
