package main

import (
	"strings"
	"testing"
)

// Start-up validation names every wrong setting by its flag and its variable.
func TestServeConfigErrorsNameTheSetting(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no platform domain", []string{"--public-scheme", "http"}, []string{"--platform-domain (LATCHKEY_PLATFORM_DOMAIN): required"}},
		{"bad platform domain", []string{"--platform-domain", "Exa mple", "--public-scheme", "http"}, []string{"--platform-domain (LATCHKEY_PLATFORM_DOMAIN)"}},
		{"cert without key", []string{"--platform-domain", "example.com", "--tls-cert", dir + "/c.pem"}, []string{"--tls-cert (LATCHKEY_TLS_CERT): --tls-cert and --tls-key go together"}},
		{"https links on plain http", []string{"--platform-domain", "example.com"}, []string{"--trusted-proxies (LATCHKEY_TRUSTED_PROXIES): links are https"}},
		{"bad proxy", []string{"--platform-domain", "example.com", "--trusted-proxies", "10.0.0.0/33"}, []string{"--trusted-proxies (LATCHKEY_TRUSTED_PROXIES)"}},
		{"bad scheme and log level", []string{"--platform-domain", "example.com", "--public-scheme", "ftp", "--log-level", "loud"},
			[]string{"--public-scheme (LATCHKEY_PUBLIC_SCHEME)", "--log-level (LATCHKEY_LOG_LEVEL)"}},
		{"bad database url", []string{"--platform-domain", "example.com", "--public-scheme", "http", "--database-url", "mysql://x"},
			[]string{"--database-url (LATCHKEY_DATABASE_URL): must be a postgres:// URL"}},
		{"retention too short", []string{"--platform-domain", "example.com", "--public-scheme", "http", "--retention", "5m", "--purge-interval", "-1s"},
			[]string{"--retention (LATCHKEY_RETENTION): 5m0s is shorter than an hour", "--purge-interval (LATCHKEY_PURGE_INTERVAL): must not be negative"}},
		{"migrate url alone", []string{"--platform-domain", "example.com", "--public-scheme", "http", "--database-migrate-url", "postgres://x"},
			[]string{"--database-migrate-url (LATCHKEY_DATABASE_MIGRATE_URL) is set but --database-url"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--ops-addr", ""}, c.args...)
			_, err := runCLI(t, args...)
			if err == nil {
				t.Fatal("serve started with an invalid configuration")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// LATCHKEY_* variables set flags; a flag on the command line wins.
func TestEnvironmentSetsFlagsAndFlagsWin(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LATCHKEY_PLATFORM_DOMAIN", "Not A Host")
	t.Setenv("LATCHKEY_DATA_DIR", dir)
	_, err := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--public-scheme", "http")
	if err == nil || !strings.Contains(err.Error(), "LATCHKEY_PLATFORM_DOMAIN") {
		t.Fatalf("want the bad LATCHKEY_PLATFORM_DOMAIN reported, got %v", err)
	}
	t.Setenv("LATCHKEY_LOG_LEVEL", "loud")
	_, err = runCLI(t, "tenant", "list", "--data-dir", dir)
	if err != nil {
		t.Fatalf("tenant list does not take --log-level, so LATCHKEY_LOG_LEVEL must not matter: %v", err)
	}
	t.Setenv("LATCHKEY_BODY_LIMIT", "lots")
	_, err = runCLI(t, "serve", "--platform-domain", "example.com")
	if err == nil || !strings.Contains(err.Error(), "LATCHKEY_BODY_LIMIT") {
		t.Fatalf("want an unparsable LATCHKEY_BODY_LIMIT named, got %v", err)
	}
}
