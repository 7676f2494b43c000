#!/usr/bin/env bash
# scripts/testenv.d/10-postgres.sh up|down
#
# A throwaway PostgreSQL cluster for the tests: 127.0.0.1:55432, trust
# authentication (loopback only), fsync off. State lives in
# $TESTENV_DIR/postgres (data directory, unix socket, server log).
#
# up:   installs the Debian package when no server binaries exist, creates the
#       cluster with initdb on first use, starts it (or reuses a running one),
#       waits until it accepts connections and prints exactly one line:
#       LATCHKEY_TEST_PG_URL=<superuser URL>. Tests use it only to create
#       per-test databases and roles. Everything else goes to stderr.
# down: stops the cluster and removes the state directory.
#
# When run as root the server runs as the `postgres` OS user (runuser).
set -euo pipefail

: "${TESTENV_DIR:?TESTENV_DIR must be set (run through scripts/testenv)}"
port=${LATCHKEY_TEST_PG_PORT:-55432} # overridable to try the script beside a running cluster
state="$TESTENV_DIR/postgres"
data="$state/data"
sock="$state/run"
logfile="$state/server.log"
url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"

log() { echo "postgres: $*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

# as_pg runs a command as the postgres OS user when we are root.
as_pg() {
	if is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# find_bin prints the bin directory of the newest installed server, or nothing.
find_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"
	fi
}

ensure_installed() {
	bin=$(find_bin)
	if [ -n "$bin" ]; then
		return
	fi
	if ! is_root; then
		log "no PostgreSQL server binaries under /usr/lib/postgresql and not root: install the postgresql package"
		exit 1
	fi
	log "installing postgresql (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y postgresql >&2
	bin=$(find_bin)
	if [ -z "$bin" ]; then
		log "postgresql installed but no server binaries found under /usr/lib/postgresql/*/bin"
		exit 1
	fi
}

running() {
	[ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

init_cluster() {
	log "creating cluster in $data ($bin)"
	rm -rf "$data"
	mkdir -p "$data" "$sock"
	chmod 700 "$data"
	if is_root; then
		chown -R postgres:postgres "$state"
	fi
	as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale --no-sync >&2
	cat >>"$data/postgresql.conf" <<EOF

# latchkey testenv (throwaway cluster)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
log_min_messages = warning
EOF
	# Trust for the unix socket and loopback only (listen_addresses keeps it there).
	cat >"$data/pg_hba.conf" <<EOF
local all all              trust
host  all all 127.0.0.1/32 trust
EOF
	if is_root; then
		chown -R postgres:postgres "$state"
	fi
}

wait_ready() {
	local i
	for i in $(seq 1 60); do
		if [ -x "$bin/pg_isready" ]; then
			"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres 2>/dev/null && return 0
		else
			"$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1 && return 0
		fi
		sleep 0.5
	done
	log "server did not accept connections on 127.0.0.1:$port; last log lines:"
	tail -n 30 "$logfile" >&2 2>/dev/null || true
	return 1
}

up() {
	ensure_installed
	mkdir -p "$state"
	if is_root; then
		chown postgres:postgres "$state"
		# the postgres user must be able to reach the state directory
		if ! runuser -u postgres -- test -x "$state"; then
			log "the postgres user cannot reach $state (a parent directory is not traversable)"
			exit 1
		fi
	fi
	if running; then
		log "reusing the running cluster in $data"
	else
		if [ ! -f "$data/PG_VERSION" ]; then
			init_cluster
		fi
		mkdir -p "$sock"
		if is_root; then
			chown -R postgres:postgres "$state"
		fi
		log "starting on 127.0.0.1:$port (log: $logfile)"
		if ! as_pg "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >&2; then
			log "pg_ctl start failed; last log lines:"
			tail -n 30 "$logfile" >&2 2>/dev/null || true
			exit 1
		fi
	fi
	wait_ready
	echo "LATCHKEY_TEST_PG_URL=$url"
}

down() {
	bin=$(find_bin)
	if [ -n "$bin" ] && [ -f "$data/PG_VERSION" ] && running; then
		log "stopping"
		as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 || true
	fi
	rm -rf "$state"
}

case "${1:-}" in
up) up ;;
down) down ;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac
