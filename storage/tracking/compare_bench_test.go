package tracking_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferryml/ferry/storage/tracking"
	"github.com/ferryml/ferry/storage/trackingapi"
)

// BenchmarkRunsCompare is `%runs compare --experiment compare` over 1,000
// runs x 10 metrics x 1,000 steps, end to end as the magic does it: search
// the runs, read their histories (downsampled for the chart), build the
// table and the Vega-Lite chart, and encode both as the kernel sends them.
// "local" reads the store in-process (a kernel outside ferry lab), "api"
// through the control plane's HTTP API (a kernel under ferry lab).
func BenchmarkRunsCompare(b *testing.B) {
	for _, backend := range benchBackends() {
		b.Run(backend, func(b *testing.B) {
			tr := open(b, benchURL(b, backend))
			loadCompare(b, tr)
			srv := httptest.NewServer(http.StripPrefix("/api/ferry/v1", trackingapi.NewHandler(tr, tracking.OpenStore, nil)))
			b.Cleanup(srv.Close)
			sessions := map[string]*tracking.Session{
				"local": tracking.NewSession(tr, "local"),
				"api":   tracking.NewSession(trackingapi.NewClient(srv.URL+"/api/ferry/v1/", "", srv.Client()), srv.URL),
			}
			for _, via := range []string{"local", "api"} {
				s := sessions[via]
				b.Run(via, func(b *testing.B) {
					ctx := b.Context()
					e, err := s.Tracker.GetExperimentByName(ctx, "compare")
					if err != nil {
						b.Fatal(err)
					}
					for b.Loop() {
						runs, err := s.Search(ctx, []string{e.ID}, "", nil, 0)
						if err != nil {
							b.Fatal(err)
						}
						if len(runs) != cmpRuns {
							b.Fatalf("%d runs, want %d", len(runs), cmpRuns)
						}
						c, err := s.Compare(ctx, runs)
						if err != nil {
							b.Fatal(err)
						}
						data, _ := c.Table.MIMEBundle()
						chart, _ := c.Chart.MIMEBundle()
						if _, err := json.Marshal([]any{data, chart}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
