package widgets

// removeBuffers splits binary values ([]byte) out of a state, as the widget
// protocol sends them: it returns a copy of state without them (a []byte in
// a map is left out, one in a list becomes null), the path of each buffer
// (map keys and list indexes from the top of state) and the buffers.
func removeBuffers(state map[string]any) (map[string]any, [][]any, [][]byte) {
	var paths [][]any
	var bufs [][]byte
	out, _ := walkRemove(state, nil, &paths, &bufs).(map[string]any)
	return out, paths, bufs
}

func walkRemove(v any, path []any, paths *[][]any, bufs *[][]byte) any {
	switch x := v.(type) {
	case map[string]any:
		if !hasBytes(x) {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if b, ok := e.([]byte); ok {
				*paths = append(*paths, appendPath(path, k))
				*bufs = append(*bufs, b)
				continue
			}
			out[k] = walkRemove(e, appendPath(path, k), paths, bufs)
		}
		return out
	case []any:
		if !hasBytes(x) {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			if b, ok := e.([]byte); ok {
				*paths = append(*paths, appendPath(path, i))
				*bufs = append(*bufs, b)
				continue
			}
			out[i] = walkRemove(e, appendPath(path, i), paths, bufs)
		}
		return out
	}
	return v
}

func appendPath(path []any, e any) []any {
	p := make([]any, len(path), len(path)+1)
	copy(p, path)
	return append(p, e)
}

// hasBytes reports whether v holds a []byte anywhere.
func hasBytes(v any) bool {
	switch x := v.(type) {
	case []byte:
		return true
	case map[string]any:
		for _, e := range x {
			if hasBytes(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasBytes(e) {
				return true
			}
		}
	}
	return false
}

// putBuffers puts buffers back into a decoded state at their paths (the
// inverse of removeBuffers). Paths that do not fit the state are skipped.
func putBuffers(state map[string]any, paths [][]any, buffers [][]byte) {
	for i, p := range paths {
		if i >= len(buffers) || len(p) == 0 {
			continue
		}
		var cur any = state
		for _, e := range p[:len(p)-1] {
			cur = child(cur, e)
		}
		switch c := cur.(type) {
		case map[string]any:
			if k, ok := p[len(p)-1].(string); ok {
				c[k] = buffers[i]
			}
		case []any:
			if j, ok := index(p[len(p)-1]); ok && j >= 0 && j < len(c) {
				c[j] = buffers[i]
			}
		}
	}
}

func child(v, e any) any {
	switch c := v.(type) {
	case map[string]any:
		if k, ok := e.(string); ok {
			return c[k]
		}
	case []any:
		if j, ok := index(e); ok && j >= 0 && j < len(c) {
			return c[j]
		}
	}
	return nil
}

// index reads a list index of a decoded buffer path (a JSON number).
func index(e any) (int, bool) {
	switch n := e.(type) {
	case float64:
		return int(n), float64(int(n)) == n
	case int:
		return n, true
	}
	return 0, false
}
