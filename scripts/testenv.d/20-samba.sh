#!/usr/bin/env bash
# scripts/testenv.d/20-samba.sh up|down
#
# A throwaway Samba AD DC (Debian 12 packages) for the directory layer's
# integration tests, adapted from shared docs/directory-testing.md (recipe 1).
# It listens on 127.0.0.2 only (LDAP 389, LDAPS 636: Samba hard-codes the LDAP
# ports, so a loopback address of its own avoids clashes), runs as a single
# process with only the LDAP service, and presents our own EC P-256 certificate
# (positive serial; Samba's generated one has a negative serial that Go
# rejects) signed by a throwaway CA. State lives in $TESTENV_DIR/samba.
#
# Seeded (offline, before the DC starts, in one python process):
#   - domain policy: minPwdLength 8, complexity on, history 5, minPwdAge 0,
#     maxPwdAge 42 days, lockout after 3 bad attempts for 5 minutes;
#   - OU=Staff (the delegated scope) and OU=Contractors (out of scope);
#   - svc-latchkey in OU=Services with least privilege on OU=Staff only
#     (R50): Reset Password (00299570-…) plus write lockoutTime and pwdLastSet
#     on user objects below OU=Staff;
#   - alice (OU=Staff, mail + mobile), bob (OU=Contractors), boss (OU=Staff,
#     Domain Admins, adminCount=1);
#   - group "Strict Users" (OU=Staff) with a PSO: min length 12, history 3,
#     minimum age 1 day, lockout threshold 5.
#
# up:   installs the packages when missing (without starting their daemons),
#       provisions on first use, starts the DC (or reuses a running one), waits
#       until LDAPS answers and prints LATCHKEY_TEST_SAMBA_* lines on stdout.
# down: stops the DC and removes the state directory.
set -euo pipefail

: "${TESTENV_DIR:?TESTENV_DIR must be set (run through scripts/testenv)}"
state="$TESTENV_DIR/samba"
addr=127.0.0.2
realm=CORP.EXAMPLE.COM
realm_lc=corp.example.com
domain=CORP
base="DC=corp,DC=example,DC=com"
adminpass='Adm1n!Passw0rd'
svcpass='Svc!Latchk3y-Pass'
alicepass='Al1ce!Passw0rd'
pidfile="$state/samba.fg.pid"
conf="$state/etc/smb.conf"
# backstop: the DC exits by itself after this many seconds
max_runtime=10800
PY=/usr/bin/python3 # Debian's python, where the samba modules live

log() { echo "samba: $*" >&2; }
el() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}'; }

ensure_installed() {
	if command -v samba >/dev/null && [ -d /usr/share/samba/setup ] && command -v ldapsearch >/dev/null &&
		command -v openssl >/dev/null && "$PY" -c 'import samba.samdb' 2>/dev/null; then
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		log "samba is not installed and we are not root: apt-get install samba samba-ad-dc samba-ad-provision ldap-utils openssl"
		exit 1
	fi
	# never let maintainer scripts start smbd/nmbd/winbind/samba-ad-dc
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
	fi
	log "installing samba (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends samba samba-ad-dc samba-ad-provision ldap-utils openssl >&2
}

pid() { cat "$pidfile" 2>/dev/null || true; }

alive() {
	local p
	p=$(pid)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

answers() {
	LDAPTLS_CACERT="$state/tls/ca.pem" ldapsearch -LLL -x -o nettimeout=2 -H "ldaps://$addr" \
		-D "Administrator@$realm_lc" -w "$adminpass" -s base -b '' dnsHostName >/dev/null 2>&1
}

make_certs() {
	local d="$state/tls"
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=Latchkey test CA (samba)" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=dc1.$realm_lc" -keyout "$d/key.pem" -out "$d/req.csr" 2>/dev/null
	printf 'subjectAltName=DNS:dc1.%s,DNS:localhost,IP:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
		"$realm_lc" "$addr" >"$d/ext.cnf"
	# a positive serial: a leading 1 nibble keeps the top bit clear
	openssl x509 -req -in "$d/req.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -days 30 \
		-set_serial "0x1$(openssl rand -hex 8)" -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null
	chmod 600 "$d/key.pem" "$d/ca.key" # samba refuses keys that are not 0600
	rm -f "$d/req.csr" "$d/ext.cnf"
}

provision() {
	local t0=$EPOCHREALTIME
	rm -rf "$state"
	mkdir -p "$state"
	local xattr_opts=()
	# sysvol ACLs need security.* xattrs (CAP_SYS_ADMIN); without it keep them in a tdb.
	if ! "$PY" -c "import os,sys; p=sys.argv[1]+'/.xt'; open(p,'w').close(); os.setxattr(p,'security.sambatest',b'1')" "$state" 2>/dev/null; then
		xattr_opts=(--option="vfs objects=dfs_samba4 acl_xattr xattr_tdb" --option="xattr_tdb:file=$state/xattr.tdb")
	fi
	rm -f "$state/.xt"
	log "provisioning $realm into $state"
	if ! samba-tool domain provision --realm="$realm" --domain="$domain" --server-role=dc --dns-backend=NONE \
		--adminpass="$adminpass" --use-rfc2307 --targetdir="$state" --host-name=dc1 \
		--option="interfaces=$addr/8" --option="bind interfaces only=yes" \
		--option="log file=$state/log.%m" \
		--option="tls keyfile=$state/tls/key.pem" --option="tls certfile=$state/tls/cert.pem" \
		--option="tls cafile=$state/tls/ca.pem" \
		"${xattr_opts[@]}" >"$state/provision.log" 2>&1; then
		cat "$state/provision.log" >&2
		exit 1
	fi
	make_certs
	log "provisioned in $(el "$t0") s; seeding"
	t0=$EPOCHREALTIME
	SVCPASS="$svcpass" ALICEPASS="$alicepass" ADMINPASS="$adminpass" "$PY" - "$conf" >&2 <<'PY'
import os, sys
from samba.param import LoadParm
from samba.auth import system_session
from samba.samdb import SamDB
from samba.sd_utils import SDUtils
from samba.dcerpc import security
from samba.ndr import ndr_unpack
import ldb

lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
DAY = 24 * 3600 * 10**7  # 100 ns intervals
MIN = 60 * 10**7

def mod(dn, **attrs):
    m = ldb.Message(ldb.Dn(db, dn))
    for k, v in attrs.items():
        m[k.replace('_', '-')] = ldb.MessageElement(str(v), ldb.FLAG_MOD_REPLACE, k.replace('_', '-'))
    db.modify(m)

# domain password and lockout policy
mod(base, minPwdLength=8, pwdProperties=1, pwdHistoryLength=5, minPwdAge=0,
    maxPwdAge=-42 * DAY, lockoutThreshold=3, lockoutDuration=-5 * MIN,
    lockOutObservationWindow=-5 * MIN)

for ou in ("Staff", "Contractors", "Services"):
    db.create_ou("OU=%s,%s" % (ou, base))

def user(name, pw, ou, given, **extra):
    db.newuser(name, pw, userou="OU=%s" % ou, givenname=given, surname="Test", useusernameascn=True,
               mailaddress=extra.get("mail"), telephonenumber=None)
    dn = str(db.search(base, ldb.SCOPE_SUBTREE, "(sAMAccountName=%s)" % name, ["dn"])[0].dn)
    if "mobile" in extra:
        mod(dn, mobile=extra["mobile"])
    return dn

svc = user("svc-latchkey", os.environ["SVCPASS"], "Services", "Svc")
user("alice", os.environ["ALICEPASS"], "Staff", "Alice", mail="alice@corp.example.com", mobile="+15550100")
user("bob", os.environ["ALICEPASS"], "Contractors", "Bob", mail="bob@corp.example.com")
boss = user("boss", os.environ["ALICEPASS"], "Staff", "Boss", mail="boss@corp.example.com")
db.add_remove_group_members("Domain Admins", ["boss"], add_members_operation=True)
mod(boss, adminCount=1)
# emulate SDProp (Samba has none): a protected account gets AdminSDHolder's
# descriptor with inheritance blocked, so OU delegations do not reach it (R49)
import re
sdu = SDUtils(db)
holder = sdu.get_sd_as_sddl("CN=AdminSDHolder,CN=System,%s" % base)
owner, dacl = holder.split("D:", 1)
dacl = dacl.split("S:", 1)[0]  # keep the SACL as it is
flags, aces = re.match(r"([A-Z]*)(.*)", dacl).groups()
aces = "".join(a for a in re.findall(r"\([^)]*\)", aces) if "ID;" not in a.split(";")[1] + ";")
sdu.modify_sd_on_dn(boss, security.descriptor.from_sddl(owner + "D:P" + aces, security.dom_sid(db.get_domain_sid())))

# group with a fine-grained password policy (PSO)
db.newgroup("Strict Users", groupou="OU=Staff")
strict = "CN=Strict Users,OU=Staff,%s" % base
db.add({
    "dn": "CN=Strict,CN=Password Settings Container,CN=System,%s" % base,
    "objectClass": "msDS-PasswordSettings",
    "msDS-PasswordSettingsPrecedence": "10",
    "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
    "msDS-PasswordHistoryLength": "3",
    "msDS-PasswordComplexityEnabled": "TRUE",
    "msDS-MinimumPasswordLength": "12",
    "msDS-MinimumPasswordAge": str(-1 * DAY),
    "msDS-MaximumPasswordAge": str(-30 * DAY),
    "msDS-LockoutThreshold": "5",
    "msDS-LockoutObservationWindow": str(-10 * MIN),
    "msDS-LockoutDuration": str(-10 * MIN),
    "msDS-PSOAppliesTo": strict,
})

# least-privilege delegation on OU=Staff only (R50), inherited by user objects
sid = str(ndr_unpack(security.dom_sid, db.search(svc, ldb.SCOPE_BASE, attrs=["objectSid"])[0]["objectSid"][0]))
USER = "bf967aba-0de6-11d0-a285-00aa003049e2"         # user class
RESET = "00299570-246d-11d0-a768-00aa006e0529"        # User-Force-Change-Password
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1" # lockoutTime attribute
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2" # pwdLastSet attribute
SDUtils(db).dacl_add_ace("OU=Staff,%s" % base,
    "(OA;CIIO;CR;%s;%s;%s)(OA;CIIO;WP;%s;%s;%s)(OA;CIIO;WP;%s;%s;%s)" % (
        RESET, USER, sid, LOCKOUT_TIME, USER, sid, PWD_LAST_SET, USER, sid))
print("seeded", file=sys.stderr)
PY
	touch "$state/.seeded"
	log "seeded in $(el "$t0") s"
}

start() {
	local t0=$EPOCHREALTIME
	rm -f "$state/samba.pid"
	# single process, LDAP service only, foreground (backgrounded here); these
	# options are not persisted by provision --option, so they are passed here.
	setsid samba -s "$conf" -M single -F --no-process-group --debug-stdout -d1 --maximum-runtime=$max_runtime \
		--option="server services=ldap" --option="old password allowed period=0" \
		--option="pid directory=$state" >"$state/samba.out" 2>&1 </dev/null &
	echo $! >"$pidfile"
	local i
	for i in $(seq 1 300); do
		if answers; then
			log "LDAPS answers after $(el "$t0") s (pid $(pid))"
			return 0
		fi
		if ! alive; then
			log "samba died:"
			tail -n 40 "$state/samba.out" >&2
			exit 1
		fi
		sleep 0.1
	done
	log "timeout waiting for LDAPS"
	tail -n 40 "$state/samba.out" >&2
	exit 1
}

up() {
	ensure_installed
	if alive && answers; then
		log "reusing the running DC (pid $(pid))"
	else
		if alive; then
			kill -TERM "$(pid)" 2>/dev/null || true
			sleep 1
		fi
		if [ ! -f "$state/.seeded" ]; then
			provision
		fi
		start
	fi
	local pin
	pin=$(openssl x509 -in "$state/tls/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
	cat <<EOF
LATCHKEY_TEST_SAMBA_URL=ldaps://$addr:636
LATCHKEY_TEST_SAMBA_STARTTLS_URL=ldap://$addr:389
LATCHKEY_TEST_SAMBA_CA=$state/tls/ca.pem
LATCHKEY_TEST_SAMBA_CERT_SHA256=$pin
LATCHKEY_TEST_SAMBA_REALM=$realm_lc
LATCHKEY_TEST_SAMBA_BASE_DN=$base
LATCHKEY_TEST_SAMBA_ADMIN_DN=CN=Administrator,CN=Users,$base
LATCHKEY_TEST_SAMBA_ADMIN_PASSWORD=$adminpass
LATCHKEY_TEST_SAMBA_BIND_DN=CN=svc-latchkey,OU=Services,$base
LATCHKEY_TEST_SAMBA_BIND_PASSWORD=$svcpass
LATCHKEY_TEST_SAMBA_SCOPE_OU=OU=Staff,$base
LATCHKEY_TEST_SAMBA_OTHER_OU=OU=Contractors,$base
LATCHKEY_TEST_SAMBA_USER=alice
LATCHKEY_TEST_SAMBA_USER_PASSWORD=$alicepass
LATCHKEY_TEST_SAMBA_PROTECTED_USER=boss
LATCHKEY_TEST_SAMBA_STRICT_GROUP=CN=Strict Users,OU=Staff,$base
EOF
}

down() {
	if alive; then
		local p
		p=$(pid)
		log "stopping (pid $p)"
		kill -TERM "$p" 2>/dev/null || true
		local i
		for i in $(seq 1 100); do
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
