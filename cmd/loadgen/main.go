// Command loadgen measures Latchkey's self-service flows against their
// physical baselines, in the same run, on this machine (docs: the
// performance anchors, scenarios B1 and B2).
//
// It drives a running node (`latchkey serve`) over HTTP like a browser:
// the tenant is picked by the Host header (bench1.localhost:<port>) while
// every request dials the node's loopback address, and each flow comes
// from its own client address in X-Forwarded-For (the node must trust
// 127.0.0.1 as a proxy), so the per-IP start limits of R3 do not turn the
// benchmark into a CAPTCHA test. Verification codes are emailed to the
// driver's own SMTP sink (the node runs with --smtp-tls none towards it)
// and matched to users by recipient and tenant name.
//
// Setup, not measured: benchmark users are created in the Samba DC's
// self-service OU, each with its own mail address; every user enrols three
// security questions in every tenant through the product itself (/enroll
// with the password and an email code, then /settings/questions).
//
// Then, for each round (A/B interleaved, --rounds times):
//
//   - B1 raw: argon2.IDKey with the product's parameters
//     (questions.DefaultParams) on GOMAXPROCS goroutines for a few seconds:
//     hashes per second. This is the ceiling cores / t_hash.
//   - B1 product: questions-only flows (start a reset, pick the questions,
//     answer all three, read the next page) scheduled open-loop at fixed
//     rates stepping up from half to above the raw ceiling (in flows/s,
//     raw/3). Each step's throughput is the number of answers verified
//     (3 per flow) whose POST returned inside the step's window, per
//     second; the round's figure is the best step. The ratio is that over
//     the raw hashes per second.
//   - B2 raw: go-ldap unicodePwd Replace of every benchmark user's password
//     as the delegated service account, once serially (latency) and once
//     over several connections (throughput: the DC serialises writes).
//   - B2 product: whole resets (email code + security questions + new
//     password, which goes HTTP → flow engine → SQLite → WebSocket → the
//     real latchkey-connector → Samba LDAPS → ack) for every user,
//     scheduled open-loop at the rate the DC just sustained raw. The
//     throughput of both is the departure rate of the middle 80% of the
//     batch (stats.DepartureRate); the ratio is product over raw.
//
// Latencies are measured from each arrival's due time (open loop: no
// coordinated omission) and summarised as nearest-rank percentiles of the
// recorded samples. The node pads the identify and send-code steps to its
// --flow-min-delay floor (R2): that is latency, not CPU, and the open-loop
// schedule keeps enough flows in flight to cover it. At the end every
// user's last password is checked with a bind, so a "done" page that did
// not reach the DC would show.
//
// Samba access comes from the LATCHKEY_TEST_SAMBA_* variables of
// scripts/testenv (.testenv/env). scripts/bench-selfservice starts the
// whole stack and runs this program.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/codebox"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/mailsink"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/portal"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/samba"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/smssink"
	"github.com/latchkey/latchkey/portal/factor/questions"
)

// userPrefix names the benchmark users; no test helper makes names with a
// "g" in them (dirtest uses "lk" + hex), so stale ones can be deleted by it.
const userPrefix = "lgen"

// codeWait is how long a flow waits for its code to arrive.
const codeWait = 20 * time.Second

type config struct {
	Addr         string           `json:"addr"`
	Tenants      []tenantRef      `json:"tenants"`
	Domain       string           `json:"platform_domain"`
	SMTPListen   string           `json:"smtp_listen"`
	SMSListen    string           `json:"sms_listen,omitempty"`
	SMSKeyFile   string           `json:"-"`
	B2Factors    [][]string       `json:"b2_factors"`
	CPUPids      map[string]int   `json:"cpu_pids,omitempty"`
	Users        int              `json:"users"`
	UsersFile    string           `json:"users_file,omitempty"`
	KeepUsers    bool             `json:"keep_users"`
	Mode         string           `json:"mode"`
	Rounds       int              `json:"rounds"`
	B1Raw        time.Duration    `json:"b1_raw_duration_ns"`
	B1Steps      []float64        `json:"b1_steps"`
	B1Step       time.Duration    `json:"b1_step_duration_ns"`
	B1Warmup     time.Duration    `json:"b1_warmup_ns"`
	B2RateFactor float64          `json:"b2_rate_factor"`
	B2RawConns   int              `json:"b2_raw_conns"`
	LightFactors []string         `json:"b2_light_factors,omitempty"`
	LightUsers   int              `json:"b2_light_users"`
	LightRate    float64          `json:"b2_light_rate"`
	QuietWait    time.Duration    `json:"quiet_wait_ns"`
	QuietCores   float64          `json:"quiet_cores"`
	SetupPar     int              `json:"setup_parallel"`
	MaxInFlight  int              `json:"max_in_flight"`
	FlowTimeout  time.Duration    `json:"flow_timeout_ns"`
	Floor        time.Duration    `json:"flow_min_delay_ns"`
	JSONOut      string           `json:"-"`
	GOMAXPROCS   int              `json:"gomaxprocs"`
	Params       questions.Params `json:"argon2id"`
	Samba        samba.Config     `json:"-"`
}

// tenantRef is a tenant the driver uses: its slug (host) and the name its
// emails carry.
type tenantRef struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && os.Args[1] == "freeport" {
		return freePorts(os.Args[2:])
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rep, err := bench(ctx, cfg, log)
	if rep != nil {
		printReport(os.Stdout, rep)
		if cfg.JSONOut != "" {
			if werr := writeJSON(cfg.JSONOut, rep); werr != nil {
				err = errors.Join(err, werr)
			}
		}
	}
	return err
}

// freePorts prints n free loopback TCP ports (for the script, which must
// hand the SMTP sink's port to the node before this program starts).
func freePorts(args []string) error {
	n := 1
	if len(args) > 0 {
		v, err := strconv.Atoi(args[0])
		if err != nil || v < 1 || v > 16 {
			return fmt.Errorf("freeport: want a count from 1 to 16, not %q", args[0])
		}
		n = v
	}
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("freeport: %w", err)
		}
		lns = append(lns, l)
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

func parseFlags(args []string) (config, error) {
	fs := pflag.NewFlagSet("loadgen", pflag.ContinueOnError)
	var c config
	var tenantsFlag, factorsFlag, pidsFlag []string
	var lightFlag string
	env := func(k string) string { return os.Getenv("LATCHKEY_TEST_SAMBA_" + k) }
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "the node's portal address (host:port) that every request dials")
	fs.StringSliceVar(&tenantsFlag, "tenants", []string{"bench1=Bench1"}, "tenants as slug=Name (the Name is in their emails' subjects); flows are spread over them")
	fs.StringVar(&c.Domain, "platform-domain", "localhost", "the node's --platform-domain: tenant hosts are <slug>.<domain>:<port>")
	fs.StringVar(&c.SMTPListen, "smtp-listen", "127.0.0.1:2525", "address of the SMTP sink the node delivers to")
	fs.StringVar(&c.SMSListen, "sms-listen", "", "address of the SMS webhook sink the node delivers to (--sms-url http://<it>/sms); empty: no SMS")
	fs.StringVar(&c.SMSKeyFile, "sms-key-file", "", "the webhook signing key the node has in --sms-token-file")
	fs.StringSliceVar(&factorsFlag, "b2-factors", []string{"email+questions"}, "B2 variants: the factors of each reset, e.g. email+questions,email+sms (sms needs --sms-listen)")
	fs.StringSliceVar(&pidsFlag, "cpu-pid", nil, "processes whose CPU time is recorded, as name=pid (node, connector-*, samba); repeatable")
	fs.IntVar(&c.Users, "users", 40, "benchmark users to create in the DC (ignored with --users-file)")
	fs.StringVar(&c.UsersFile, "users-file", "", "JSON list of existing users ({login,dn,mail,password}) to use instead of creating them")
	fs.BoolVar(&c.KeepUsers, "keep-users", false, "do not delete the users this run created")
	fs.StringVar(&c.Mode, "mode", "both", "what to measure: b1, b2 or both")
	fs.IntVar(&c.Rounds, "rounds", 3, "A/B rounds (baseline, product) of each benchmark")
	fs.DurationVar(&c.B1Raw, "b1-raw", 3*time.Second, "duration of the raw argon2id baseline in each round")
	fs.Float64SliceVar(&c.B1Steps, "b1-steps", []float64{0.5, 0.8, 1.0, 1.3}, "B1 open-loop rates as fractions of the raw ceiling (raw hashes/s ÷ 3 answers a flow)")
	fs.DurationVar(&c.B1Step, "b1-step", 6*time.Second, "arrivals of each B1 rate step")
	fs.DurationVar(&c.B1Warmup, "b1-warmup", 1500*time.Millisecond, "start of each B1 step left out of its throughput window")
	fs.Float64Var(&c.B2RateFactor, "b2-rate", 1.0, "B2 product arrivals as a multiple of the raw rate measured in the same round")
	fs.StringVar(&lightFlag, "b2-light-factors", "", "also reset --b2-light-users users at --b2-light-rate with these factors each round, for the latency at light load (empty: off)")
	fs.IntVar(&c.LightUsers, "b2-light-users", 10, "users of the light-load B2 pass")
	fs.Float64Var(&c.LightRate, "b2-light-rate", 2, "arrivals per second of the light-load B2 pass")
	fs.DurationVar(&c.QuietWait, "quiet-wait", 20*time.Second, "before each round's baselines, wait up to this long for the rest of the machine to be quiet")
	fs.Float64Var(&c.QuietCores, "quiet-cores", 0.3, "quiet: the rest of the machine uses at most this many cores over a second")
	fs.IntVar(&c.B2RawConns, "b2-raw-conns", 4, "LDAPS connections of the raw B2 throughput pass")
	fs.IntVar(&c.SetupPar, "setup-parallel", 8, "parallel user creations and enrolments during setup")
	fs.IntVar(&c.MaxInFlight, "max-in-flight", 512, "open-loop cap on flows in flight (arrivals over it are counted as dropped)")
	fs.DurationVar(&c.FlowTimeout, "flow-timeout", 90*time.Second, "give up one flow after this")
	fs.DurationVar(&c.Floor, "flow-min-delay", 250*time.Millisecond, "the node's --flow-min-delay (reported only)")
	fs.StringVar(&c.JSONOut, "json", "", "also write the results as JSON to this file (- for stdout)")
	fs.StringVar(&c.Samba.URL, "samba-url", env("URL"), "LDAPS URL of the DC (LATCHKEY_TEST_SAMBA_URL)")
	fs.StringVar(&c.Samba.CAFile, "samba-ca", env("CA"), "CA file of the DC (LATCHKEY_TEST_SAMBA_CA)")
	fs.StringVar(&c.Samba.AdminDN, "samba-admin-dn", env("ADMIN_DN"), "administrator DN, for users (LATCHKEY_TEST_SAMBA_ADMIN_DN)")
	fs.StringVar(&c.Samba.BindDN, "samba-bind-dn", env("BIND_DN"), "the delegated service account, for the raw baseline (LATCHKEY_TEST_SAMBA_BIND_DN)")
	fs.StringVar(&c.Samba.ScopeOU, "samba-scope-ou", env("SCOPE_OU"), "OU of the connector's scope (LATCHKEY_TEST_SAMBA_SCOPE_OU)")
	fs.StringVar(&c.Samba.Realm, "samba-realm", env("REALM"), "mail domain of the users (LATCHKEY_TEST_SAMBA_REALM)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	// Passwords only from the environment: never on a command line.
	c.Samba.AdminPassword, c.Samba.BindPassword = env("ADMIN_PASSWORD"), env("BIND_PASSWORD")
	c.GOMAXPROCS = runtime.GOMAXPROCS(0)
	c.Params = questions.DefaultParams
	var errs []error
	for _, t := range tenantsFlag {
		slug, name, ok := strings.Cut(t, "=")
		if !ok || slug == "" || name == "" {
			errs = append(errs, fmt.Errorf("--tenants: %q is not slug=Name", t))
			continue
		}
		c.Tenants = append(c.Tenants, tenantRef{Slug: slug, Name: name})
	}
	if lightFlag != "" {
		factorsFlag = append(factorsFlag, lightFlag)
	}
	for _, f := range factorsFlag {
		parts := strings.Split(f, "+")
		for _, p := range parts {
			switch p {
			case "email", "questions":
			case "sms":
				if c.SMSListen == "" || c.SMSKeyFile == "" {
					errs = append(errs, fmt.Errorf("--b2-factors %s: SMS needs --sms-listen and --sms-key-file", f))
				}
			default:
				errs = append(errs, fmt.Errorf("--b2-factors %s: %q is not email, sms or questions", f, p))
			}
		}
		c.B2Factors = append(c.B2Factors, parts)
	}
	if lightFlag != "" && len(c.B2Factors) > 0 {
		c.LightFactors = c.B2Factors[len(c.B2Factors)-1]
		c.B2Factors = c.B2Factors[:len(c.B2Factors)-1]
		if c.LightUsers < 1 || c.LightRate <= 0 {
			errs = append(errs, errors.New("--b2-light-users and --b2-light-rate must be positive"))
		}
	}
	c.CPUPids = map[string]int{}
	for _, p := range pidsFlag {
		name, v, ok := strings.Cut(p, "=")
		pid, err := strconv.Atoi(v)
		if !ok || name == "" || err != nil || pid <= 0 {
			errs = append(errs, fmt.Errorf("--cpu-pid %q: want name=pid", p))
			continue
		}
		c.CPUPids[name] = pid
	}
	if len(c.Tenants) == 0 {
		errs = append(errs, errors.New("--tenants: at least one tenant"))
	}
	switch c.Mode {
	case "b1", "b2", "both":
	default:
		errs = append(errs, fmt.Errorf("--mode %q: want b1, b2 or both", c.Mode))
	}
	if c.Rounds < 1 || c.Users < 1 || c.B2RawConns < 1 || c.SetupPar < 1 || c.B2RateFactor <= 0 {
		errs = append(errs, errors.New("--rounds, --users, --b2-raw-conns, --setup-parallel and --b2-rate must be positive"))
	}
	if len(c.B1Steps) == 0 || c.B1Warmup >= c.B1Step {
		errs = append(errs, errors.New("--b1-steps needs a rate and --b1-warmup must be shorter than --b1-step"))
	}
	for _, s := range c.B1Steps {
		if s <= 0 {
			errs = append(errs, fmt.Errorf("--b1-steps: %v is not positive", s))
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %w", c.Addr, err))
	}
	if err := c.Samba.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// host is the Host header of tenant t.
func (c config) host(t tenantRef) string {
	_, port, _ := net.SplitHostPort(c.Addr)
	return t.Slug + "." + c.Domain + ":" + port
}

func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = os.Stdout.Write(b)
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// rig is what the benchmarks share once set up.
type rig struct {
	cfg    config
	log    *slog.Logger
	client *portal.Client
	box    *codebox.Box
	mail   *mailsink.Sink
	sms    *smssink.Sink // nil without --sms-listen
	users  []*benchUser
	ips    ipSource
}

// codes returns the code sources of tenant t by factor. An email's subject
// and an SMS's text name the tenant.
func (r *rig) codes(t tenantRef) map[string]portal.Codes {
	source := func(label string) portal.Codes {
		return func(ctx context.Context, to string, notBefore time.Time) (string, error) {
			// A code the node did not send (a rate limit, R3/R24) never comes.
			ctx, cancel := context.WithTimeout(ctx, codeWait)
			defer cancel()
			return r.box.Take(ctx, to, label, notBefore)
		}
	}
	return map[string]portal.Codes{"email": source("Your " + t.Name + " verification code"), "sms": source(" is your " + t.Name + " verification code")}
}

// visitor is a new browser on tenant t from a fresh client address.
func (r *rig) visitor(t tenantRef) *portal.Visitor {
	return r.client.Visitor(r.cfg.host(t), r.ips.next())
}
