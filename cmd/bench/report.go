package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// A quantity is a measured value in its unit: ms, µs, MB or a count.
type quantity struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func msQ(d time.Duration) quantity { return quantity{float64(d) / float64(time.Millisecond), "ms"} }
func usQ(d time.Duration) quantity { return quantity{float64(d) / float64(time.Microsecond), "µs"} }
func mbQ(bytes int) quantity       { return quantity{float64(bytes) / 1e6, "MB"} }
func countQ(n int) quantity        { return quantity{float64(n), ""} }

func (q quantity) String() string {
	switch q.Unit {
	case "ms":
		return fmt.Sprintf("%.2f ms", q.Value)
	case "µs":
		return fmt.Sprintf("%.1f µs", q.Value)
	case "MB":
		return fmt.Sprintf("%.1f MB", q.Value)
	}
	return fmt.Sprint(q.Value)
}

// A baseline is what a figure is measured against in the same run.
type baseline struct {
	What string `json:"what"`
	quantity
}

// A row is one figure: what it is, its value (or, for a figure that is
// not a number, its text), the baseline measured in the same run, and its
// budget with pass or MISS when there is one. The ratio is value over
// baseline.
type row struct {
	what   string
	value  quantity
	text   string // instead of value, such as "1 1 1 1"
	base   *baseline
	budget string // "" for a figure without a budget
	ok     bool   // the budget is met
}

// figure is a row as -json writes it.
type figure struct {
	Section  string    `json:"section"`
	What     string    `json:"what"`
	Value    *float64  `json:"value,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Text     string    `json:"text,omitempty"`
	Baseline *baseline `json:"baseline,omitempty"`
	Ratio    float64   `json:"ratio,omitempty"`
	Budget   string    `json:"budget,omitempty"`
	Pass     *bool     `json:"pass,omitempty"`
}

// report is what the run measured so far, for -json.
var report struct {
	section string
	figures []figure
}

// section starts a group of rows under title.
func section(title string) {
	report.section = title
	fmt.Println(title)
}

func (r row) ratio() float64 { return r.value.Value / r.base.Value }

func (r row) print() {
	value, vs, mark, budget := r.value.String(), "", "", ""
	if r.text != "" {
		value = r.text
	}
	if r.base != nil {
		vs = fmt.Sprintf("vs %s %s = %.2fx", r.base.What, r.base.quantity, r.ratio())
	}
	if r.budget != "" {
		mark, budget = "MISS", "budget "+r.budget
		if r.ok {
			mark = "pass"
		}
	}
	fmt.Println(strings.TrimRight(fmt.Sprintf("  %-40s %11s  %-30s %-4s  %s", r.what, value, vs, mark, budget), " "))

	f := figure{Section: report.section, What: strings.TrimSpace(r.what), Text: r.text, Baseline: r.base, Budget: r.budget}
	if r.text == "" {
		f.Value, f.Unit = &r.value.Value, r.value.Unit
	}
	if r.base != nil {
		f.Ratio = r.ratio()
	}
	if r.budget != "" {
		f.Pass = &r.ok
	}
	report.figures = append(report.figures, f)
}

// writeJSON writes every figure printed to path as one JSON document.
func writeJSON(path, header string) {
	b, err := json.MarshalIndent(struct {
		Run     string   `json:"run"`
		Figures []figure `json:"figures"`
	}{header, report.figures}, "", "  ")
	check(err)
	check(os.WriteFile(path, append(b, '\n'), 0o644))
}
