package tenants

import (
	"reflect"
	"testing"
)

func TestLinkBuilder(t *testing.T) {
	acme := &Tenant{Slug: "acme"}
	custom := &Tenant{Slug: "acme", CanonicalHost: "passwords.acme.com"}
	tests := []struct {
		name string
		b    LinkBuilder
		t    *Tenant
		path string
		want string
	}{
		{"platform host", LinkBuilder{PlatformDomain: "latchkey.example"}, acme, "/reset", "https://acme.latchkey.example/reset"},
		{"canonical host wins", LinkBuilder{PlatformDomain: "latchkey.example"}, custom, "/reset?flow=abc", "https://passwords.acme.com/reset?flow=abc"},
		{"leading slash added", LinkBuilder{PlatformDomain: "latchkey.example"}, acme, "signin", "https://acme.latchkey.example/signin"},
		{"empty path", LinkBuilder{PlatformDomain: "latchkey.example"}, acme, "", "https://acme.latchkey.example/"},
		{"https default port omitted", LinkBuilder{PlatformDomain: "latchkey.example", Scheme: "https", Port: "443"}, acme, "/x", "https://acme.latchkey.example/x"},
		{"http default port omitted", LinkBuilder{PlatformDomain: "localhost", Scheme: "http", Port: "80"}, acme, "/x", "http://acme.localhost/x"},
		{"demo port kept", LinkBuilder{PlatformDomain: "localhost", Scheme: "http", Port: "8080"}, acme, "/x", "http://acme.localhost:8080/x"},
		{"443 kept for http", LinkBuilder{PlatformDomain: "localhost", Scheme: "http", Port: "443"}, acme, "/x", "http://acme.localhost:443/x"},
		{"scheme lower-cased", LinkBuilder{PlatformDomain: "latchkey.example", Scheme: "HTTPS"}, acme, "/x", "https://acme.latchkey.example/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.URL(tt.t, tt.path); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
		})
	}
	b := LinkBuilder{PlatformDomain: "latchkey.example"}
	if got := b.Host(custom); got != "passwords.acme.com" {
		t.Errorf("Host(custom) = %q", got)
	}
	if got := b.Host(acme); got != "acme.latchkey.example" {
		t.Errorf("Host(acme) = %q", got)
	}
}

// TestLinkBuilderTakesNoRequestInput proves R9 by the type's shape: the
// builder's state is configuration strings, and its methods take only the
// tenant and a path, so nothing from a request (Host, X-Forwarded-Host,
// Forwarded, X-Host, an absolute request URI) can reach a link.
func TestLinkBuilderTakesNoRequestInput(t *testing.T) {
	typ := reflect.TypeOf(LinkBuilder{})
	want := []string{"PlatformDomain", "Scheme", "Port"}
	if typ.NumField() != len(want) {
		t.Fatalf("LinkBuilder has %d fields, want exactly %v", typ.NumField(), want)
	}
	for i, name := range want {
		f := typ.Field(i)
		if f.Name != name || f.Type.Kind() != reflect.String {
			t.Errorf("field %d is %s %s, want %s string", i, f.Name, f.Type, name)
		}
	}
	tenantPtr := reflect.TypeOf(&Tenant{})
	str := reflect.TypeOf("")
	for i := 0; i < typ.NumMethod(); i++ {
		m := typ.Method(i)
		// In is 0 = receiver, then the parameters.
		for j := 1; j < m.Type.NumIn(); j++ {
			in := m.Type.In(j)
			ok := in == tenantPtr || (m.Name == "URL" && j == 2 && in == str)
			if !ok {
				t.Errorf("LinkBuilder.%s parameter %d has type %s: links must be built from the tenant only", m.Name, j, in)
			}
		}
	}
}
