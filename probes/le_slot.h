/* Histogram slot of a value, shared by the BPF programs and the C++ unit
 * tests. No includes: each side brings __u64 and __u32. */
#ifndef KSCOPE_LE_SLOT_H
#define KSCOPE_LE_SLOT_H

/* Bucket index for a Prometheus `le` histogram with bounds 1, 2, 4, ...:
 * ceil(log2(v)), so a 3-byte read lands in le="4"; 0 and 1 go to le="1";
 * values above the last bound go to the +Inf slot `max_slot`. */
static inline __u32 kscope_le_slot(__u64 v, __u32 max_slot)
{
	__u32 r = 0, shift;

	if (v <= 1)
		return 0;
	v--; /* floor(log2(v - 1)) + 1 == ceil(log2(v)) for v >= 2 */
	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	r += 1;
	return r < max_slot ? r : max_slot;
}

#endif
