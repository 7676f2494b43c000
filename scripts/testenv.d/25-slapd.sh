#!/usr/bin/env bash
# scripts/testenv.d/25-slapd.sh up|down
#
# A throwaway OpenLDAP slapd 2.5 with the ppolicy overlay for the directory
# layer's generic-LDAP tests, adapted from shared docs/directory-testing.md
# (recipe 2): ldaps://127.0.0.1:6636 and ldap://127.0.0.1:3890 (StartTLS),
# loopback only, our own EC P-256 certificate (positive serial) signed by a
# throwaway CA. State lives in $TESTENV_DIR/slapd.
#
# Seeded: suffix dc=example,dc=com; the default ppolicy (3 failures lock until
# an admin unlocks, history 5, minimum length 8, must change after a reset);
# a stricter policy cn=strict (minimum length 12, history 3, minimum age 1 day)
# that tests attach per user with pwdPolicySubentry; user alice (mail, mobile).
# The service account is the rootdn (it needs manage rights to unlock).
#
# up:   installs the packages when missing (without starting the daemon), sets
#       up on first use, starts slapd (or reuses a running one), waits until
#       LDAPS answers and prints LATCHKEY_TEST_SLAPD_* lines on stdout.
# down: stops slapd and removes the state directory.
set -euo pipefail

: "${TESTENV_DIR:?TESTENV_DIR must be set (run through scripts/testenv)}"
state="$TESTENV_DIR/slapd"
ldaps_url=ldaps://127.0.0.1:6636
ldap_url=ldap://127.0.0.1:3890
base="dc=example,dc=com"
rootdn="cn=admin,$base"
adminpass='Adm1n!Passw0rd'
alicepass='Al1ce!Passw0rd'
pidfile="$state/slapd.fg.pid"

log() { echo "slapd: $*" >&2; }
el() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}'; }

ensure_installed() {
	if command -v slapd >/dev/null && command -v slapadd >/dev/null && command -v ldapsearch >/dev/null &&
		command -v openssl >/dev/null && [ -e /usr/lib/ldap/ppolicy.so ]; then
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		log "slapd is not installed and we are not root: apt-get install slapd ldap-utils openssl"
		exit 1
	fi
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
	fi
	log "installing slapd (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	# no default database in /etc/ldap
	echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >&2
}

pid() { cat "$pidfile" 2>/dev/null || true; }

alive() {
	local p
	p=$(pid)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

answers() {
	LDAPTLS_CACERT="$state/ca.pem" ldapsearch -LLL -x -o nettimeout=2 -H "$ldaps_url" \
		-D "$rootdn" -w "$adminpass" -s base -b "$base" dn >/dev/null 2>&1
}

make_certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=Latchkey test CA (slapd)" -keyout "$state/ca.key" -out "$state/ca.pem" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=localhost" -keyout "$state/key.pem" -out "$state/req.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$state/ext.cnf"
	openssl x509 -req -in "$state/req.csr" -CA "$state/ca.pem" -CAkey "$state/ca.key" -days 30 \
		-set_serial "0x1$(openssl rand -hex 8)" -extfile "$state/ext.cnf" -out "$state/cert.pem" 2>/dev/null
	chmod 600 "$state/key.pem" "$state/ca.key"
	rm -f "$state/req.csr" "$state/ext.cnf"
}

setup() {
	local t0=$EPOCHREALTIME
	rm -rf "$state"
	mkdir -p "$state/db"
	make_certs
	cat >"$state/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile $state/slapd.pid
TLSCertificateFile $state/cert.pem
TLSCertificateKeyFile $state/key.pem
# no plaintext password operations: simple binds and writes need TLS (R43)
security simple_bind=1 update_tls=1
database mdb
suffix "$base"
rootdn "$rootdn"
rootpw $(slappasswd -s "$adminpass")
directory $state/db
maxsize 104857600
access to attrs=userPassword by self write by anonymous auth by * none
access to * by self read by users read by anonymous auth
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$base"
ppolicy_hash_cleartext
ppolicy_use_lockout
CONF
	slapadd -q -f "$state/slapd.conf" >&2 <<LDIF
dn: $base
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,$base
objectClass: organizationalUnit
ou: people

dn: ou=policies,$base
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$base
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMaxFailure: 3
pwdLockout: TRUE
pwdLockoutDuration: 0
pwdInHistory: 5
pwdCheckQuality: 2
pwdMinLength: 8
pwdMustChange: TRUE
pwdAllowUserChange: TRUE
pwdSafeModify: FALSE

dn: cn=strict,ou=policies,$base
objectClass: organizationalRole
objectClass: pwdPolicy
cn: strict
pwdAttribute: userPassword
pwdMaxFailure: 5
pwdLockout: TRUE
pwdLockoutDuration: 600
pwdInHistory: 3
pwdCheckQuality: 2
pwdMinLength: 12
pwdMinAge: 86400
pwdMaxAge: 2592000
pwdMustChange: TRUE
pwdAllowUserChange: TRUE
pwdSafeModify: FALSE

dn: uid=alice,ou=people,$base
objectClass: inetOrgPerson
uid: alice
cn: Alice Test
sn: Test
displayName: Alice Test
mail: alice@example.com
mobile: +15550100
userPassword: $(slappasswd -s "$alicepass")
LDIF
	touch "$state/.seeded"
	log "set up in $(el "$t0") s"
}

start() {
	local t0=$EPOCHREALTIME
	# -d 0 keeps slapd in the foreground (backgrounded here); same pid as the pidfile
	setsid slapd -f "$state/slapd.conf" -h "$ldap_url/ $ldaps_url/" -d 0 >"$state/slapd.out" 2>&1 </dev/null &
	echo $! >"$pidfile"
	local i
	for i in $(seq 1 200); do
		if answers; then
			log "LDAPS answers after $(el "$t0") s (pid $(pid))"
			return 0
		fi
		if ! alive; then
			log "slapd died:"
			tail -n 40 "$state/slapd.out" >&2
			exit 1
		fi
		sleep 0.05
	done
	log "timeout waiting for LDAPS"
	tail -n 40 "$state/slapd.out" >&2
	exit 1
}

up() {
	ensure_installed
	if alive && answers; then
		log "reusing the running slapd (pid $(pid))"
	else
		if alive; then
			kill -TERM "$(pid)" 2>/dev/null || true
			sleep 0.5
		fi
		if [ ! -f "$state/.seeded" ]; then
			setup
		fi
		start
	fi
	local pin
	pin=$(openssl x509 -in "$state/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
	cat <<EOF
LATCHKEY_TEST_SLAPD_URL=$ldaps_url
LATCHKEY_TEST_SLAPD_STARTTLS_URL=$ldap_url
LATCHKEY_TEST_SLAPD_CA=$state/ca.pem
LATCHKEY_TEST_SLAPD_CERT_SHA256=$pin
LATCHKEY_TEST_SLAPD_BASE_DN=$base
LATCHKEY_TEST_SLAPD_BIND_DN=$rootdn
LATCHKEY_TEST_SLAPD_BIND_PASSWORD=$adminpass
LATCHKEY_TEST_SLAPD_USERS_OU=ou=people,$base
LATCHKEY_TEST_SLAPD_PPOLICY_DN=cn=default,ou=policies,$base
LATCHKEY_TEST_SLAPD_STRICT_PPOLICY_DN=cn=strict,ou=policies,$base
LATCHKEY_TEST_SLAPD_USER=alice
LATCHKEY_TEST_SLAPD_USER_PASSWORD=$alicepass
EOF
}

down() {
	if alive; then
		local p
		p=$(pid)
		log "stopping (pid $p)"
		kill -TERM "$p" 2>/dev/null || true
		local i
		for i in $(seq 1 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
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
