/* corpus/csum.h: Internet checksum arithmetic (RFC 1071) and incremental updates (RFC 1624). */
#ifndef CORPUS_CSUM_H
#define CORPUS_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Folds a 32-bit one's complement accumulator to 16 bits (two folds cover every carry). */
static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a 16-bit field that changes from `from`
 * to `to`. Works on network-order values as they sit in the packet, since one's
 * complement addition commutes with byte swapping.
 */
static __always_inline void csum_update16(__sum16 *check, __be16 from, __be16 to)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~from;
	sum += to;
	*check = ~csum_fold32(sum);
}

/* The same for a 32-bit field (an address), as two 16-bit halves. */
static __always_inline void csum_update32(__sum16 *check, __be32 from, __be32 to)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~(from >> 16) + (__u16)~(from & 0xffff);
	sum += (to >> 16) + (to & 0xffff);
	*check = ~csum_fold32(sum);
}

/* Header checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __sum16 ipv4_csum_20(const void *hdr)
{
	const __u16 *w = hdr;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return ~csum_fold32(sum);
}

#endif
