/* kernel_bench/bench_pcap.c: test packets from a pcap file (tcpdump, `k2 pktgen`) for the bench. */
#include "kernel_bench/bench_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define LINKTYPE_ETHERNET 1

static uint32_t swap32(uint32_t v)
{
	return __builtin_bswap32(v);
}

int k2_bench_pcap(const char *path, uint32_t prog_type, uint32_t max, struct k2_input **out,
		  uint32_t *n, struct k2_err *e)
{
	uint32_t hdr[6], rec[4], cap = 0;
	struct k2_input *in = NULL;
	bool swapped;
	FILE *f;
	int err = 0;

	*out = NULL;
	*n = 0;
	f = fopen(path, "rb");
	if (!f)
		return k2_err_set(e, -errno, "%s: %s", path, strerror(errno));
	if (fread(hdr, sizeof(hdr), 1, f) != 1) {
		fclose(f);
		return k2_err_set(e, -EINVAL, "%s: not a pcap file (too short)", path);
	}
	swapped = hdr[0] == swap32(PCAP_MAGIC_US) || hdr[0] == swap32(PCAP_MAGIC_NS);
	if (!swapped && hdr[0] != PCAP_MAGIC_US && hdr[0] != PCAP_MAGIC_NS)
		err = k2_err_set(e, -EINVAL, "%s: not a pcap file (magic %08x; pcapng is not read)",
				 path, hdr[0]);
	else if ((swapped ? swap32(hdr[5]) : hdr[5]) != LINKTYPE_ETHERNET)
		err = k2_err_set(e, -EINVAL,
				 "%s: link type %u: the bench needs Ethernet frames (1)", path,
				 swapped ? swap32(hdr[5]) : hdr[5]);
	while (!err && (!max || *n < max) && fread(rec, sizeof(rec), 1, f) == 1) {
		uint32_t len = swapped ? swap32(rec[2]) : rec[2];
		struct k2_input *x;

		if (len < 14 || len > K2_PKT_MAX) {
			err = k2_err_set(e, -EINVAL,
					 "%s: packet %u: %u bytes (the bench takes 14..%d)", path,
					 *n, len, K2_PKT_MAX);
			break;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			x = realloc(in, cap * sizeof(*in));
			if (!x) {
				err = k2_err_set(e, -ENOMEM, "%s: out of memory", path);
				break;
			}
			in = x;
		}
		x = &in[*n];
		memset(x, 0, offsetof(struct k2_input, pkt));
		x->maps = NULL;
		if (fread(x->pkt, len, 1, f) != 1) {
			err = k2_err_set(e, -EINVAL, "%s: packet %u truncated", path, *n);
			break;
		}
		x->pkt_len = len;
		k2_bench_frame_ctx(prog_type, 0, x);
		++*n;
	}
	fclose(f);
	if (!err && !*n)
		err = k2_err_set(e, -EINVAL, "%s: no packets", path);
	if (err) {
		free(in);
		*n = 0;
		return err;
	}
	*out = in;
	return 0;
}
