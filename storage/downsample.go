package storage

// Downsample returns at most max points of a metric history for plotting,
// keeping the first and the last point and, in between, for each of
// max-2 equal runs of points, the ones with the smallest and the largest
// value (in step order), so that spikes survive. points is returned as is
// when it has max points or fewer, or when max < 4.
func Downsample(points []MetricPoint, max int) []MetricPoint {
	if max < 4 || len(points) <= max {
		return points
	}
	out := make([]MetricPoint, 0, max)
	out = append(out, points[0])
	inner := points[1 : len(points)-1]
	buckets := (max - 2) / 2
	for b := 0; b < buckets; b++ {
		lo, hi := b*len(inner)/buckets, (b+1)*len(inner)/buckets
		if lo >= hi {
			continue
		}
		minI, maxI := lo, lo
		for i := lo + 1; i < hi; i++ {
			if inner[i].Value < inner[minI].Value {
				minI = i
			}
			if inner[i].Value > inner[maxI].Value {
				maxI = i
			}
		}
		first, second := minI, maxI
		if first > second {
			first, second = second, first
		}
		out = append(out, inner[first])
		if second != first {
			out = append(out, inner[second])
		}
	}
	return append(out, points[len(points)-1])
}
