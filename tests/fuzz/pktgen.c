/* tests/fuzz/pktgen.c: any spec or options bytes: the packet builder stays inside the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/k2bpf.h"

/*
 * Input: byte 0 picks the entry point, bytes 1-2 the buffer size, the rest fills a
 * spec or an options struct (pointers cleared: they are the caller's to get right).
 * The buffer is heap-allocated at exactly that size so that ASan sees any overrun.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap;
	uint8_t *buf;

	if (size < 3)
		return 0;
	cap = ((size_t)data[1] << 8 | data[2]) % 4096 + 1;
	buf = malloc(cap);
	if (!buf)
		return 0;
	if (data[0] & 1) {
		struct k2_pkt_spec s;
		struct k2_pkt_info in;

		memset(&s, 0, sizeof(s));
		memcpy(&s, data + 3, size - 3 < sizeof(s) ? size - 3 : sizeof(s));
		if (k2_pkt_build(&s, buf, cap, &in) > 0 && in.len > cap)
			abort();
	} else {
		struct k2_pktgen_opts o;
		struct k2_pkt_info in;
		struct k2_rng r;
		int len;

		memset(&o, 0, sizeof(o));
		memcpy(&o, data + 3, size - 3 < sizeof(o) ? size - 3 : sizeof(o));
		o.sz = sizeof(o);
		o.dst_macs = NULL;
		o.dst4 = o.src4 = NULL;
		o.dst6 = NULL;
		o.dst_ports = o.vlan_ids = NULL;
		o.flows = NULL;
		o.n_dst_macs = o.n_dst4 = o.n_src4 = o.n_dst6 = 0;
		o.n_dst_ports = o.n_flows = o.n_vlan_ids = 0;
		k2_rng_seed(&r, data[0]);
		for (int i = 0; i < 8; i++) {
			len = k2_pktgen(&r, &o, buf, cap, &in);
			if (len > 0 && ((size_t)len > cap || in.len != (uint32_t)len))
				abort();
		}
	}
	free(buf);
	return 0;
}
