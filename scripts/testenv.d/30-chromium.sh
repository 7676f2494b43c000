#!/usr/bin/env bash
# scripts/testenv.d/30-chromium.sh up|down
#
# A headless Chromium for the portal's browser tests (portal's chromedp test).
# There is no long-running service: the tests launch the browser themselves
# with a fresh profile on every run.
#
# up:   installs Debian's `chromium` package when /usr/bin/chromium is missing
#       (apt-get update first; the browser is never downloaded any other way),
#       checks that it starts, and prints exactly one line:
#       LATCHKEY_TEST_CHROMIUM=/usr/bin/chromium. Everything else goes to stderr.
# down: nothing to stop (the package stays installed).
set -euo pipefail

bin=/usr/bin/chromium

log() { echo "chromium: $*" >&2; }

up() {
	if [ ! -x "$bin" ]; then
		if [ "$(id -u)" != 0 ]; then
			log "$bin is missing and we are not root: install Debian's chromium package"
			exit 1
		fi
		log "installing chromium (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		apt-get -o DPkg::Lock::Timeout=600 update >&2
		apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium fonts-dejavu-core >&2
	fi
	if [ ! -x "$bin" ]; then
		log "chromium installed but $bin is missing"
		exit 1
	fi
	if ! "$bin" --headless --no-sandbox --disable-gpu --version >&2; then
		log "$bin does not start"
		exit 1
	fi
	echo "LATCHKEY_TEST_CHROMIUM=$bin"
}

case "${1:-}" in
up) up ;;
down) : ;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
