package sqldb

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/ferryml/ferry/storage"
)

// A block packs a metric's points in logging order. Each point is the
// zigzag varint of its step minus the previous point's step, the same for
// its timestamp, then its value's IEEE 754 bits as 8 little-endian bytes.
// The first point of a block is relative to step 0, timestamp 0. A block
// row keeps the count and the last step and timestamp so that appending
// needs no decoding.

// appendPoints encodes pts after a block whose last point had step and ts,
// and returns the block and the new last step and timestamp.
func appendPoints(b []byte, step, ts int64, pts []storage.MetricPoint) ([]byte, int64, int64) {
	b = growBytes(b, len(pts)*14)
	for _, p := range pts {
		b = binary.AppendVarint(b, p.Step-step)
		b = binary.AppendVarint(b, p.Timestamp-ts)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Value))
		step, ts = p.Step, p.Timestamp
	}
	return b, step, ts
}

func growBytes(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

var errCorruptBlock = errors.New("corrupt metric block")

// decodePoints appends the n points of block b to dst.
func decodePoints(dst []storage.MetricPoint, b []byte, n int) ([]storage.MetricPoint, error) {
	var step, ts int64
	for range n {
		// Fast path: both deltas fit one byte, as they do for steps and
		// timestamps that grow by less than 64.
		if len(b) >= 10 && b[0] < 0x80 && b[1] < 0x80 {
			step += int64(b[0]>>1) ^ -int64(b[0]&1)
			ts += int64(b[1]>>1) ^ -int64(b[1]&1)
			v := math.Float64frombits(binary.LittleEndian.Uint64(b[2:10]))
			b = b[10:]
			dst = append(dst, storage.MetricPoint{Step: step, Timestamp: ts, Value: v})
			continue
		}
		ds, k := binary.Varint(b)
		if k <= 0 {
			return dst, errCorruptBlock
		}
		b = b[k:]
		dt, k := binary.Varint(b)
		if k <= 0 || len(b) < k+8 {
			return dst, errCorruptBlock
		}
		step += ds
		ts += dt
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[k:]))
		b = b[k+8:]
		dst = append(dst, storage.MetricPoint{Step: step, Timestamp: ts, Value: v})
	}
	if len(b) != 0 {
		return dst, errCorruptBlock
	}
	return dst, nil
}
