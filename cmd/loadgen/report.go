package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/cmd/loadgen/internal/cpu"
	"github.com/latchkey/latchkey/cmd/loadgen/internal/stats"
)

// report is everything a run measured.
type report struct {
	Config    config     `json:"config"`
	Started   time.Time  `json:"started"`
	Setup     string     `json:"setup_duration"`
	B1        []b1Round  `json:"b1,omitempty"`
	B2        []b2Round  `json:"b2,omitempty"`
	BindCheck *bindCheck `json:"bind_check,omitempty"`
	Summary   summary    `json:"summary"`
}

type b1Round struct {
	// Others is the cores the rest of the machine used just before.
	Others float64  `json:"others_cores_before"`
	Raw    b1Raw    `json:"raw"`
	Steps  []b1Step `json:"steps"`
	// Best is the highest answers-verified rate of the steps; Ratio is
	// Best over the raw hashes per second. CPURatio is answers verified
	// per second of the stack's CPU over the whole product phase (every
	// flow finished inside it) over raw hashes per second of CPU: the
	// product's efficiency, whatever else ran on the machine.
	Best     float64   `json:"best_answers_verified_per_second"`
	Ratio    float64   `json:"ratio"`
	CPU      cpu.Usage `json:"product_cpu"`
	CPURatio float64   `json:"cpu_ratio"`
}

type b2Round struct {
	Others   float64     `json:"others_cores_before"`
	Raw      b2Raw       `json:"raw"`
	Variants []b2Variant `json:"variants"`
}

type b2Variant struct {
	Light   bool      `json:"light_load"`
	Product b2Product `json:"product"`
	Ratio   float64   `json:"throughput_ratio"`
	// P50Ratio compares the new-password POST (connector → DC → ack) with
	// a raw serial replace.
	P50Ratio float64 `json:"act_p50_over_raw_p50"`
}

type bindCheck struct {
	Users  int `json:"users"`
	Failed int `json:"failed"`
}

type summary struct {
	B1Ratios    []float64            `json:"b1_ratios,omitempty"`
	B1Median    float64              `json:"b1_median_ratio,omitempty"`
	B1CPURatios []float64            `json:"b1_cpu_ratios,omitempty"`
	B1CPUMedian float64              `json:"b1_median_cpu_ratio,omitempty"`
	B2Ratios    map[string][]float64 `json:"b2_ratios,omitempty"`
	B2Medians   map[string]float64   `json:"b2_median_ratios,omitempty"`
	// B2LightP50 are the light pass's new-password p50 over the raw
	// serial p50, per round.
	B2LightP50 []float64 `json:"b2_light_act_p50_ratios,omitempty"`
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (s *summary) finish() {
	s.B1Median, s.B1CPUMedian = round2(median(s.B1Ratios)), round2(median(s.B1CPURatios))
	s.B2Medians = map[string]float64{}
	for k, v := range s.B2Ratios {
		s.B2Medians[k] = round2(median(v))
	}
}

// bench sets up, runs the rounds and checks the passwords at the end.
func bench(ctx context.Context, cfg config, log *slog.Logger) (*report, error) {
	rep := &report{Config: cfg, Started: time.Now(), Summary: summary{B2Ratios: map[string][]float64{}}}
	defer rep.Summary.finish()
	r, cleanup, err := setup(ctx, cfg, log)
	defer cleanup()
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	rep.Setup = time.Since(rep.Started).Round(time.Millisecond).String()
	batch := 0
	for round := range cfg.Rounds {
		if ctx.Err() != nil {
			break
		}
		if cfg.Mode != "b2" {
			others := r.waitQuiet(ctx, "B1")
			rep.B1 = append(rep.B1, r.b1Round(ctx, round))
			rep.B1[len(rep.B1)-1].Others = others
			br := rep.B1[len(rep.B1)-1]
			rep.Summary.B1Ratios = append(rep.Summary.B1Ratios, round2(br.Ratio))
			rep.Summary.B1CPURatios = append(rep.Summary.B1CPURatios, round2(br.CPURatio))
		}
		if cfg.Mode != "b1" {
			others := r.waitQuiet(ctx, "B2")
			raw, err := r.b2RawRound(ctx)
			if err != nil {
				return rep, err
			}
			log.Info("B2 raw", "round", round+1, "serial_p50", raw.Serial.P50.Round(100*time.Microsecond), "parallel_s", round2(raw.ParallelRate))
			br := b2Round{Others: others, Raw: raw}
			order := slices.Clone(cfg.B2Factors)
			if round%2 == 1 { // alternate the variants' order, so drift favours none
				slices.Reverse(order)
			}
			for _, factors := range order {
				prod := r.b2ProductRound(ctx, batch, factors, cfg.B2RateFactor*raw.ParallelRate, 0, len(r.users))
				batch++
				name := strings.Join(factors, "+")
				log.Info("B2 product", "round", round+1, "factors", name, "done", prod.Done, "failed", prod.Failed, "resets_s", round2(prod.Rate),
					"flow_p50", prod.Flow.P50.Round(time.Millisecond), "act_p50", prod.Act.P50.Round(time.Millisecond))
				v := b2Variant{Product: prod, Ratio: prod.Rate / raw.ParallelRate}
				if raw.Serial.P50 > 0 {
					v.P50Ratio = float64(prod.Act.P50) / float64(raw.Serial.P50)
				}
				br.Variants = append(br.Variants, v)
				rep.Summary.B2Ratios[name] = append(rep.Summary.B2Ratios[name], round2(v.Ratio))
			}
			if len(cfg.LightFactors) > 0 {
				// Other users every round: each has codes left for one light reset.
				prod := r.b2ProductRound(ctx, batch, cfg.LightFactors, cfg.LightRate, round*cfg.LightUsers, cfg.LightUsers)
				batch++
				v := b2Variant{Light: true, Product: prod}
				if raw.Serial.P50 > 0 {
					v.P50Ratio = float64(prod.Act.P50) / float64(raw.Serial.P50)
				}
				log.Info("B2 light", "round", round+1, "done", prod.Done, "act_p50", prod.Act.P50.Round(time.Millisecond), "flow_p50", prod.Flow.P50.Round(time.Millisecond))
				br.Variants = append(br.Variants, v)
				rep.Summary.B2LightP50 = append(rep.Summary.B2LightP50, round2(v.P50Ratio))
			}
			rep.B2 = append(rep.B2, br)
		}
	}
	rep.BindCheck = &bindCheck{Users: len(r.users), Failed: r.bindCheck(ctx)}
	if others, bad := r.mail.Counts(); bad > 0 {
		log.Warn("unreadable emails", "unreadable", bad, "other", others)
	}
	if r.sms != nil {
		if _, rejected := r.sms.Counts(); rejected > 0 {
			log.Warn("rejected SMS webhooks", "rejected", rejected)
		}
	}
	if rep.BindCheck.Failed > 0 {
		return rep, fmt.Errorf("%d users do not bind with the last password set", rep.BindCheck.Failed)
	}
	return rep, ctx.Err()
}

// b1Round is the raw baseline then the product's steps.
func (r *rig) b1Round(ctx context.Context, round int) b1Round {
	raw := rawArgon2(ctx, r.cfg.Params, r.cfg.GOMAXPROCS, r.cfg.B1Raw, r.cfg.CPUPids)
	r.log.Info("B1 raw", "round", round+1, "hashes_s", round2(raw.PerSecond), "hash_p50", raw.Hash.P50.Round(100*time.Microsecond))
	before := cpu.Take(r.cfg.CPUPids)
	br := b1Round{Raw: raw, Steps: r.b1Product(ctx, round, raw.PerSecond/3)}
	br.CPU = cpu.Take(r.cfg.CPUPids).Since(before)
	answers := 0
	for _, s := range br.Steps {
		br.Best = max(br.Best, s.VerifiesPerSec)
		answers += s.Answers
	}
	br.Ratio = br.Best / raw.PerSecond
	if stack := br.CPU.Sum(); stack > 0 && raw.PerCPUSecond > 0 {
		br.CPURatio = float64(answers) / stack / raw.PerCPUSecond
	}
	return br
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", stats.Ms(d)) }

func errs(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s×%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// cores is CPU seconds per wall second.
func cores(cpuSeconds, wall float64) string {
	if wall <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", cpuSeconds/wall)
}

// perOp is CPU milliseconds per operation.
func perOp(cpuSeconds float64, n int) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", cpuSeconds*1000/float64(n))
}

// printReport writes the result tables.
func printReport(w io.Writer, rep *report) {
	c := rep.Config
	fmt.Fprintf(w, "\nLatchkey self-service benchmark — %d users, %d tenants, %d rounds, GOMAXPROCS %d, node floor (--flow-min-delay) %s, setup %s\n",
		rep.users(), len(c.Tenants), c.Rounds, c.GOMAXPROCS, c.Floor, rep.Setup)
	if len(rep.B1) > 0 {
		printB1(w, rep)
	}
	if len(rep.B2) > 0 {
		printB2(w, rep)
	}
	if b := rep.BindCheck; b != nil {
		fmt.Fprintf(w, "\nBind check: %d of %d users bind with the last password set\n", b.Users-b.Failed, b.Users)
	}
}

func printB1(w io.Writer, rep *report) {
	c := rep.Config
	fmt.Fprintf(w, "\nB1 hashed-secret verify: argon2id m=%d KiB t=%d p=%d; product = questions-only flows (3 answers each), open loop, stepped\n",
		c.Params.Memory, c.Params.Time, c.Params.Threads)
	fmt.Fprintln(w, "  stack = node + connectors + DC; cpu ratio = (answers per stack CPU-second) ÷ (raw hashes per CPU-second) in the step's window; others = cores used by the rest of the machine")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\traw IDKey/s\traw /CPU-s\thash p50 ms\tstep\toffered flows/s\tflows\tanswers/s\t/raw\tanswers /stack CPU-s\tcpu ratio\tverify p50 ms\tverify p99 ms\tflow p50 ms\tflow p99 ms\tnode cores\tothers cores\tfailed\t")
	for i, r := range rep.B1 {
		for j, s := range r.Steps {
			rawCol, rawCPU, hashCol := "", "", ""
			if j == 0 {
				rawCol, rawCPU, hashCol = fmt.Sprintf("%.1f", r.Raw.PerSecond), fmt.Sprintf("%.1f", r.Raw.PerCPUSecond), ms(r.Raw.Hash.P50)
			}
			cpuRatio := 0.0
			if r.Raw.PerCPUSecond > 0 {
				cpuRatio = s.PerStackCPUSecond / r.Raw.PerCPUSecond
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.2f×\t%.1f\t%d\t%.1f\t%.2f\t%.1f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", i+1, rawCol, rawCPU, hashCol,
				s.Fraction, s.OfferedFlows, s.Flows, s.VerifiesPerSec, s.VerifiesPerSec/r.Raw.PerSecond, s.PerStackCPUSecond, cpuRatio,
				ms(s.Verify.P50), ms(s.Verify.P99), ms(s.Flow.P50), ms(s.Flow.P99), cores(s.CPU.Procs["node"], s.CPU.Wall), cores(s.CPU.Others, s.CPU.Wall), s.Failed)
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "B1 ratio (best step ÷ raw, wall clock) per round: %v, median %.2f (target ≥ 0.90)\n", rep.Summary.B1Ratios, rep.Summary.B1Median)
	fmt.Fprintf(w, "B1 cpu ratio over each round's whole product phase: %v, median %.2f (%.0f%% of the stack's CPU per answer is the hash)\n",
		rep.Summary.B1CPURatios, rep.Summary.B1CPUMedian, 100*rep.Summary.B1CPUMedian)
	for i, r := range rep.B1 {
		for _, s := range r.Steps {
			if s.Failed > 0 || s.Dropped > 0 {
				fmt.Fprintf(w, "  round %d step %.2f×: %d failed, %d dropped: %s\n", i+1, s.Fraction, s.Failed, s.Dropped, errs(s.Errors))
			}
		}
	}
}

func printB2(w io.Writer, rep *report) {
	c := rep.Config
	fmt.Fprintf(w, "\nB2 end-to-end reset (factors, then the new password via the connector to the DC), open loop at %.2f× the raw rate of the same round\n", c.B2RateFactor)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tfactors\traw serial p50 ms\traw p99 ms\traw/s ("+fmt.Sprint(c.B2RawConns)+" conns)\tDC CPU ms/replace\toffered/s\tdone\tresets/s\t/raw\tflow p50 ms\tflow p99 ms\tnew-pw p50 ms\tnew-pw p99 ms\tcode wait p50 ms\tnode CPU ms/reset\tDC CPU ms/reset\tothers cores\tfailed\t")
	for i, r := range rep.B2 {
		rawN := r.Raw.Parallel.N
		for j, v := range r.Variants {
			p := v.Product
			raw := []string{"", "", "", ""}
			if j == 0 {
				raw = []string{ms(r.Raw.Serial.P50), ms(r.Raw.Serial.P99), fmt.Sprintf("%.1f", r.Raw.ParallelRate), perOp(r.Raw.ParallelCPU.Sum("samba"), rawN)}
			}
			name, ratio := strings.Join(p.Factors, "+"), fmt.Sprintf("%.2f", v.Ratio)
			if v.Light {
				name, ratio = "light "+name, "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%.1f\t%d/%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", i+1, name,
				raw[0], raw[1], raw[2], raw[3], p.Offered, p.Done, p.Flows, p.Rate, ratio, ms(p.Flow.P50), ms(p.Flow.P99), ms(p.Act.P50), ms(p.Act.P99),
				ms(p.CodeWait.P50), perOp(p.CPU.Procs["node"], p.Done), perOp(p.CPU.Sum("samba"), p.Done), cores(p.CPU.Others, p.CPU.Wall), p.Failed)
		}
	}
	_ = tw.Flush()
	names := make([]string, 0, len(rep.Summary.B2Ratios))
	for k := range rep.Summary.B2Ratios {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(w, "B2 throughput ratio (product ÷ raw) %s per round: %v, median %.2f (target ≥ 0.90)\n", k, rep.Summary.B2Ratios[k], rep.Summary.B2Medians[k])
	}
	if len(rep.Summary.B2LightP50) > 0 {
		fmt.Fprintf(w, "B2 light load (%.1f/s): new-password POST p50 ÷ raw serial replace p50 per round: %v (target ≤ 1.2 × raw + 5 ms)\n", c.LightRate, rep.Summary.B2LightP50)
	}
	for i, r := range rep.B2 {
		fmt.Fprintf(w, "  round %d: the rest of the machine used %.2f cores before the baselines\n", i+1, r.Others)
		for _, v := range r.Variants {
			name := strings.Join(v.Product.Factors, "+")
			if v.Light {
				name = "light " + name
			}
			fmt.Fprintf(w, "  round %d %s: new-password POST p50 = %.2f × raw serial replace p50", i+1, name, v.P50Ratio)
			if v.Product.Failed > 0 || v.Product.Dropped > 0 || v.Product.Skipped > 0 {
				fmt.Fprintf(w, "; %d failed, %d dropped, %d skipped (no tenant could send the codes): %s", v.Product.Failed, v.Product.Dropped, v.Product.Skipped, errs(v.Product.Errors))
			}
			fmt.Fprintln(w)
		}
	}
}

func (rep *report) users() int {
	if rep.BindCheck != nil {
		return rep.BindCheck.Users
	}
	return rep.Config.Users
}
