package main

import (
	"strings"
	"testing"
	"time"
)

func sambaEnv(t *testing.T) {
	for k, v := range map[string]string{"URL": "ldaps://127.0.0.2:636", "CA": "/ca.pem", "ADMIN_DN": "cn=a", "ADMIN_PASSWORD": "x",
		"BIND_DN": "cn=b", "BIND_PASSWORD": "y", "SCOPE_OU": "ou=s", "REALM": "corp.example.com"} {
		t.Setenv("LATCHKEY_TEST_SAMBA_"+k, v)
	}
}

func TestParseFlagsReadsTenantsFactorsAndPids(t *testing.T) {
	sambaEnv(t)
	c, err := parseFlags([]string{"--addr", "127.0.0.1:9000", "--tenants", "bench1=Bench1,bench2=Bench2", "--sms-listen", "127.0.0.1:1",
		"--sms-key-file", "/k", "--b2-factors", "email+questions,email+sms", "--cpu-pid", "node=42"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tenants) != 2 || c.host(c.Tenants[1]) != "bench2.localhost:9000" {
		t.Errorf("tenants %+v", c.Tenants)
	}
	if len(c.B2Factors) != 2 || strings.Join(c.B2Factors[1], "+") != "email+sms" || c.CPUPids["node"] != 42 {
		t.Errorf("factors %v, pids %v", c.B2Factors, c.CPUPids)
	}
	if c.Samba.BindPassword != "y" {
		t.Error("the bind password is not taken from the environment")
	}
}

func TestParseFlagsRefusesBadInput(t *testing.T) {
	sambaEnv(t)
	for _, args := range [][]string{
		{"--tenants", "bench1"},
		{"--mode", "b3"},
		{"--b2-factors", "email+sms"}, // no SMS sink
		{"--b2-factors", "email+totp"},
		{"--cpu-pid", "node"},
		{"--b1-steps", "0"},
		{"--rounds", "0"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	t.Setenv("LATCHKEY_TEST_SAMBA_URL", "")
	if _, err := parseFlags(nil); err == nil || !strings.Contains(err.Error(), "LATCHKEY_TEST_SAMBA_URL") {
		t.Errorf("missing Samba settings: %v", err)
	}
}

func TestIPSourceHandsOutDistinctBenchmarkAddresses(t *testing.T) {
	var s ipSource
	seen := map[string]bool{}
	for range 1000 {
		ip := s.next()
		if !strings.HasPrefix(ip, "198.18.") && !strings.HasPrefix(ip, "198.19.") {
			t.Fatalf("%s is outside 198.18.0.0/15", ip)
		}
		if seen[ip] {
			t.Fatalf("%s handed out twice", ip)
		}
		seen[ip] = true
	}
}

func TestReserveCodesKeepsEveryTenantWithinItsHourlyLimit(t *testing.T) {
	u := &benchUser{codes: map[int]int{0: 1, 1: 1, 2: 1}, texted: map[int]time.Time{}} // enrolled in 3 tenants
	var got []int
	t0 := time.Unix(1000, 0)
	for k := range 8 {
		got = append(got, u.reserveCodes(k, 3, 2, false, t0))
	}
	// 4 codes left in each tenant: two resets of 2 codes each, then none.
	want := []int{0, 1, 2, 0, 1, 2, -1, -1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tenants %v, want %v", got, want)
		}
	}
	for tnt, n := range u.codes {
		if n > maxCodes {
			t.Fatalf("tenant %d would send %d codes", tnt, n)
		}
	}
}

func TestReserveCodesLeavesATenantThatJustTextedTheUser(t *testing.T) {
	u := &benchUser{codes: map[int]int{}, texted: map[int]time.Time{}}
	t0 := time.Unix(1000, 0)
	if got := u.reserveCodes(0, 2, 2, true, t0); got != 0 {
		t.Fatalf("first text from tenant %d", got)
	}
	if got := u.reserveCodes(0, 2, 2, true, t0.Add(time.Second)); got != 1 {
		t.Fatalf("a second text a second later from tenant %d, want the other one", got)
	}
	if got := u.reserveCodes(0, 2, 1, false, t0.Add(2*time.Second)); got != 0 {
		t.Fatalf("an email-only reset from tenant %d: texts do not matter", got)
	}
	if got := u.reserveCodes(0, 2, 2, true, t0.Add(3*time.Second)); got != -1 {
		t.Fatalf("a third text within the gap from tenant %d", got)
	}
	if got := u.reserveCodes(0, 2, 2, true, t0.Add(smsGap)); got != 0 {
		t.Fatalf("after the gap: tenant %d", got)
	}
}
