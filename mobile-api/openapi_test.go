package mobileapi_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	mobileapi "github.com/latchkey/latchkey/mobile-api"
	"github.com/latchkey/latchkey/push/approval"
	"github.com/latchkey/latchkey/push/approval/approvaltest"
)

// specFile is the machine-readable contract, next to docs/mobile-api.md.
const specFile = "../docs/mobile-api.openapi.json"

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestRoutesMatchTheOpenAPISpec: every route Register mounts is in the
// OpenAPI document with the same method and path template, and every
// operation of the document is mounted; documented statuses include the
// contract's error statuses.
func TestRoutesMatchTheOpenAPISpec(t *testing.T) {
	raw, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("%s: %v", specFile, err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", spec.OpenAPI)
	}
	var documented []string
	for path, ops := range spec.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}

	e := approvaltest.New(t)
	push, err := approval.New(approval.Config{Store: e.Scope()})
	if err != nil {
		t.Fatal(err)
	}
	enroll, err := approval.NewEnrollments(e.Scope(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	api, err := mobileapi.New(mobileapi.Config{Store: e.Scope(), Approvals: push, Enrollments: enroll})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	mobileapi.Register(app, api)
	var mounted []string
	for _, r := range app.GetRoutes(true) { // true: without middleware (the JSON 404)
		if r.Method == fiber.MethodHead {
			continue // Fiber adds HEAD to every GET
		}
		mounted = append(mounted, r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(documented)
	slices.Sort(mounted)
	mounted = slices.Compact(mounted)
	for _, m := range mounted {
		if !slices.Contains(documented, m) {
			t.Errorf("route %s is not in %s", m, specFile)
		}
	}
	for _, d := range documented {
		if !slices.Contains(mounted, d) {
			t.Errorf("%s documents %s, which is not mounted", specFile, d)
		}
	}
	if len(mounted) != 10 {
		t.Errorf("%d routes mounted: %v", len(mounted), mounted)
	}

	// The answer documents every status of docs/mobile-api.md section 3.
	var answer struct {
		Responses map[string]json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(spec.Paths["/api/mobile/v1/challenges/{cid}/answer"]["post"], &answer); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"200", "400", "401", "404", "409", "410", "422"} {
		if _, ok := answer.Responses[status]; !ok {
			t.Errorf("the answer operation does not document %s", status)
		}
	}
}
