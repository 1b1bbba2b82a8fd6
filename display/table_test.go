package display

import (
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tb := Table{
		Columns: []string{"run", "lr", "acc"},
		Rows:    [][]any{{"a<b", "0.01", 0.912345678}, {"c", "0.1", 12}},
		Marked:  [][]bool{{false, true}},
	}
	data, _ := MIMEBundle(tb)
	wantText := "run  lr     acc\n---  -----  --------\na<b  0.01*  0.912346\nc    0.1          12"
	if got := data["text/plain"]; got != wantText {
		t.Errorf("text/plain:\n%s\nwant:\n%s", got, wantText)
	}
	h := data["text/html"].(string)
	for _, want := range []string{"<th>run</th>", "<td>a&lt;b</td>", "<b>0.01</b>", `<td style="text-align:right;">0.912346</td>`} {
		if !strings.Contains(h, want) {
			t.Errorf("text/html lacks %q:\n%s", want, h)
		}
	}
}
