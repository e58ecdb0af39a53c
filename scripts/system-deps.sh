#!/usr/bin/env bash
# Debian packages the test suite drives for real: chromium (browser tests) and dovecot (IMAP tests).
# Installed only when missing and when running as root; otherwise those tests say why they skip.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: missing ${need[*]} (not root or no apt-get): the tests that need them will skip and say so"
  exit 0
fi
echo "installing ${need[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends "${need[@]}" >/tmp/omnihub-apt.log 2>&1; then
  apt-get update -q >>/tmp/omnihub-apt.log 2>&1 || true
  apt-get install -y -q --no-install-recommends "${need[@]}" >>/tmp/omnihub-apt.log 2>&1 \
    || echo "note: could not install ${need[*]} (see /tmp/omnihub-apt.log): dependent tests will skip"
fi
exit 0
