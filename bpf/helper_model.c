/* bpf/helper_model.c: what each helper does, by id: argument checks from the signature table, then the model. */
#include <stdio.h>
#include <string.h>

#include "bpf/k2_rand.h"
#include "bpf/vm_internal.h"

/* One call: checked arguments, then the model sets ret (and r0's type). */
struct hcall {
	struct k2_vm *vm;
	struct k2_machine *m;
	const struct k2_helper *h;
	uint32_t id;
	uint64_t a[5];
	uint8_t at[5];
	int32_t map;               /* map of the MAP_PTR argument, -1 if none */
	const uint8_t *rd[5];      /* checked readable memory arguments */
	uint8_t *wr[5];            /* checked writable memory arguments */
	uint64_t ret;
	uint8_t ret_t;
};

typedef int (*k2_model_fn)(struct hcall *c);

#define XDP_ABORTED_ 0
#define XDP_REDIRECT_ 4
#define TC_ACT_SHOT_ 2
#define TC_ACT_REDIRECT_ 7
#define ETH_HLEN_ 14
#define NEG(e) ((uint64_t)(int64_t)-(e))

uint64_t k2_ndet_value(const struct k2_input *in, uint32_t i)
{
	uint64_t x;

	if (i < in->n_ndet && i < K2_NDET_MAX)
		return in->ndet[i];
	x = (uint64_t)i * 0x9e3779b97f4a7c15ULL + 0x6b32;
	return k2_rng_splitmix(&x);
}

uint8_t k2_kmem_byte(uint64_t seed, uint64_t addr)
{
	uint64_t x = seed ^ (addr & ~7ull);

	return (uint8_t)(k2_rng_splitmix(&x) >> ((addr & 7) * 8));
}

static uint64_t ndet(struct hcall *c)
{
	return k2_ndet_value(c->m->in, c->m->ndet_i++);
}

/* Appends an effect with `n` bytes of data (two pieces, either may be empty). */
static int effect(struct hcall *c, const uint8_t *p1, uint32_t n1, const uint8_t *p2, uint32_t n2)
{
	struct k2_machine *m = c->m;
	struct k2_effect *e;

	if (m->n_eff >= K2_EFFECTS_MAX || m->eff_data_len + n1 + n2 > K2_EFFECT_DATA_MAX)
		return k2_fail(m, K2_RUN_ECAP, "run produced more effects than the buffer holds");
	e = &m->eff[m->n_eff++];
	e->helper = c->id;
	e->insn = m->pc;
	for (int i = 0; i < 5; i++)
		e->args[i] = c->at[i] == K2_T_SCALAR ? c->a[i] : 0;
	e->data_off = m->eff_data_len;
	e->data_len = n1 + n2;
	if (n1)
		memcpy(m->eff_data + m->eff_data_len, p1, n1);
	if (n2)
		memcpy(m->eff_data + m->eff_data_len + n1, p2, n2);
	m->eff_data_len += n1 + n2;
	e->ret = (int64_t)c->ret;
	return 0;
}

static const struct k2_mapinfo *cmap(struct hcall *c)
{
	return &c->vm->maps[c->map];
}

static uint32_t map_type(struct hcall *c)
{
	return cmap(c)->def.type;
}

static int bad(struct hcall *c, const char *why)
{
	return k2_fail(c->m, K2_RUN_EHELPER, why);
}

/* ---- maps ------------------------------------------------------------------------------ */

static bool plain_data_map(const struct k2_mapinfo *mi)
{
	return (mi->arraylike && !mi->objarray) || mi->hashlike || mi->lpm;
}

static int h_map_lookup(struct hcall *c)
{
	const struct k2_mapinfo *mi = cmap(c);
	int err;
	int32_t s;

	if (!plain_data_map(mi) && mi->def.type != BPF_MAP_TYPE_DEVMAP &&
	    mi->def.type != BPF_MAP_TYPE_DEVMAP_HASH)
		return bad(c, "map_lookup_elem on a map type that does not allow it (or not modelled)");
	if (mi->def.type == BPF_MAP_TYPE_HASH_OF_MAPS)
		return bad(c, "map-in-map lookups are not modelled");
	s = k2_ov_lookup(c->vm, c->m, (uint32_t)c->map, c->rd[1], &err);
	if (err)
		return K2_STOP_ERROR;
	if (s < 0) {
		c->ret = 0;
		return 0;
	}
	c->ret = K2_ADDR(K2_RGN_MAPVAL, (uint32_t)s, 0);
	c->ret_t = K2_T_MAP_VALUE;
	return 0;
}

static int writable_map(struct hcall *c)
{
	const struct k2_mapinfo *mi = cmap(c);

	if (!plain_data_map(mi) || mi->def.type == BPF_MAP_TYPE_HASH_OF_MAPS)
		return bad(c, "map update/delete on a map type that does not allow it from a program");
	if (mi->def.readonly || (mi->def.flags & BPF_F_RDONLY_PROG))
		return bad(c, "map update/delete on a map that is read-only to programs");
	return 0;
}

static int h_map_update(struct hcall *c)
{
	int err;

	if (writable_map(c))
		return K2_STOP_ERROR;
	if (k2_ov_update(c->vm, c->m, (uint32_t)c->map, c->rd[1], c->rd[2], c->a[3], &err))
		return K2_STOP_ERROR;
	c->ret = (uint64_t)(int64_t)err;
	return 0;
}

static int h_map_delete(struct hcall *c)
{
	int err;

	if (writable_map(c))
		return K2_STOP_ERROR;
	if (k2_ov_delete(c->vm, c->m, (uint32_t)c->map, c->rd[1], &err))
		return K2_STOP_ERROR;
	c->ret = (uint64_t)(int64_t)err;
	return 0;
}

/* ---- non-deterministic values ----------------------------------------------------------- */

static int h_ndet64(struct hcall *c)
{
	c->ret = ndet(c);
	return 0;
}

static int h_ndet32(struct hcall *c)
{
	c->ret = (uint32_t)ndet(c);
	return 0;
}

static int h_cpu(struct hcall *c)
{
	c->ret = c->m->in->cpu;
	return 0;
}

static int h_numa(struct hcall *c)
{
	c->ret = 0; /* one NUMA node, as on this machine */
	return 0;
}

/* probe_read_{kernel,user}: kernel memory is a fixed function of the address (kmem_seed). */
static int h_probe_read(struct hcall *c)
{
	uint64_t src = c->a[2], n = c->a[1];
	bool user = c->id == BPF_FUNC_probe_read_user;

	if (!n) {
		c->ret = 0;
		return 0;
	}
	/* Faults: NULL page, a wrapping range, or the wrong half of the address space. */
	if (src < 4096 || src + n < src || (!user && c->id != BPF_FUNC_probe_read && src >> 63 == 0) ||
	    (user && src >> 63)) {
		memset(c->wr[0], 0, n);
		c->ret = NEG(EFAULT);
		return 0;
	}
	for (uint64_t i = 0; i < n; i++)
		c->wr[0][i] = k2_kmem_byte(c->m->in->kmem_seed, src + i);
	c->ret = 0;
	return 0;
}

static int h_comm(struct hcall *c)
{
	uint64_t v = ndet(c), n = c->a[1];
	char comm[16];

	for (int i = 0; i < 15; i++)
		comm[i] = (char)('a' + ((v >> (4 * (i % 16))) & 15));
	comm[15] = 0;
	memset(c->wr[0], 0, n);
	memcpy(c->wr[0], comm, n - 1 < 15 ? n - 1 : 15);
	c->ret = 0;
	return 0;
}

/* ---- trace_printk ----------------------------------------------------------------------- */

/* Length the kernel's formatter writes for one conversion; -1 for one it rejects. */
static int conv_len(struct hcall *c, const char *spec, char conv, int lmod, uint64_t arg,
		    uint8_t at)
{
	char fmt[32], out[128];
	size_t sl = strlen(spec);

	if (conv == 'p')
		return at == K2_T_SCALAR && !arg ? 16 : 16; /* hashed pointer: 16 hex digits */
	if (conv == 's') {
		const uint8_t *s;
		uint64_t n = 0;

		if (at == K2_T_SCALAR || at == K2_T_UNINIT)
			return arg ? -1 : 6; /* "(null)"; other kernel addresses are not modelled */
		s = k2_mem_helper_read(c->vm, c->m, at, arg, 1);
		if (!s)
			return -2;
		while (n < 256) {
			s = k2_mem_helper_read(c->vm, c->m, at, arg + n, 1);
			if (!s)
				return -2;
			if (!*s)
				break;
			n++;
		}
		return (int)n;
	}
	if (sl + 4 >= sizeof(fmt))
		return -1;
	memcpy(fmt, spec, sl);
	fmt[sl] = 0;
	strcat(fmt, lmod == 2 ? "ll" : lmod == 1 ? "l" : "");
	fmt[strlen(fmt) + 1] = 0;
	fmt[strlen(fmt)] = conv;
	switch (conv) {
	case 'c':
		return snprintf(out, sizeof(out), fmt, (int)(uint8_t)arg);
	case 'd':
	case 'i':
		if (lmod)
			return snprintf(out, sizeof(out), fmt, (long long)arg);
		return snprintf(out, sizeof(out), fmt, (int)arg);
	default:
		if (lmod)
			return snprintf(out, sizeof(out), fmt, (unsigned long long)arg);
		return snprintf(out, sizeof(out), fmt, (unsigned)arg);
	}
}

static int h_printk(struct hcall *c)
{
	const char *f = (const char *)c->rd[0];
	uint64_t n = c->a[1], total = 0;
	int argi = 0, len;

	if (!memchr(f, 0, n)) {
		c->ret = NEG(EINVAL);
		return effect(c, c->rd[0], (uint32_t)n, NULL, 0);
	}
	for (const char *p = f; *p; p++) {
		char spec[16];
		int sl = 0, lmod = 0;

		if (*p != '%') {
			total++;
			continue;
		}
		if (p[1] == '%') {
			total++;
			p++;
			continue;
		}
		spec[sl++] = *p++;
		while (strchr("-+ #0", *p) && sl < 8)
			spec[sl++] = *p++;
		while (*p >= '0' && *p <= '9' && sl < 12)
			spec[sl++] = *p++;
		spec[sl] = 0;
		while (*p == 'l' && lmod < 2)
			lmod++, p++;
		if (!*p || !strchr("cdiuxXps", *p) || argi >= 3) {
			c->ret = NEG(EINVAL);
			return effect(c, c->rd[0], (uint32_t)n, NULL, 0);
		}
		len = conv_len(c, spec, *p, lmod, c->at[2 + argi] == K2_T_UNINIT ? 0 : c->a[2 + argi],
			       c->at[2 + argi]);
		if (len == -2)
			return K2_STOP_ERROR;
		if (len < 0) {
			c->ret = NEG(EINVAL);
			return effect(c, c->rd[0], (uint32_t)n, NULL, 0);
		}
		argi++;
		total += (uint64_t)len;
	}
	c->ret = total;
	return effect(c, c->rd[0], (uint32_t)n, NULL, 0);
}

/* ---- control transfer: tail calls and redirects ------------------------------------------ */

static int h_tail_call(struct hcall *c)
{
	struct k2_machine *m = c->m;
	uint32_t idx = (uint32_t)c->a[2];

	if (map_type(c) != BPF_MAP_TYPE_PROG_ARRAY)
		return bad(c, "tail_call needs a prog_array");
	/* An out-of-range index, an empty slot or too many tail calls: the call falls through.
	 * (The kernel's JIT leaves r0 undefined then; the model says -ENOENT.) */
	if (idx >= cmap(c)->def.max_entries || m->tail_calls >= K2_MAX_TAIL_CALLS ||
	    !k2_ov_populated(c->vm, m, (uint32_t)c->map, idx)) {
		c->ret = NEG(ENOENT);
		return 0;
	}
	m->tail_calls++;
	m->tail_call = true;
	m->tail_map = (uint32_t)c->map;
	m->tail_index = idx;
	c->ret = 0;
	if (effect(c, NULL, 0, NULL, 0))
		return K2_STOP_ERROR;
	return K2_STOP_TAIL;
}

static int h_redirect(struct hcall *c)
{
	if (c->vm->type == BPF_PROG_TYPE_XDP)
		c->ret = c->a[1] ? XDP_ABORTED_ : XDP_REDIRECT_;
	else
		c->ret = (c->a[1] & ~(uint64_t)BPF_F_INGRESS) ? TC_ACT_SHOT_ : TC_ACT_REDIRECT_;
	if (c->ret == XDP_REDIRECT_ || c->ret == TC_ACT_REDIRECT_)
		return effect(c, NULL, 0, NULL, 0);
	return 0;
}

static int h_redirect_map(struct hcall *c)
{
	uint32_t t = map_type(c), key = (uint32_t)c->a[1];
	uint64_t flags = c->a[2], actions = 3, extra = 0;
	bool found;

	if (t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH)
		extra = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
	else if (t != BPF_MAP_TYPE_CPUMAP && t != BPF_MAP_TYPE_XSKMAP)
		return bad(c, "redirect_map needs a devmap, cpumap or xskmap");
	if (flags & ~(actions | extra)) {
		c->ret = XDP_ABORTED_;
		return 0;
	}
	if (t == BPF_MAP_TYPE_DEVMAP_HASH)
		found = k2_ms_find(c->m->in->maps, (uint32_t)c->map, (const uint8_t *)&key) >= 0;
	else
		found = k2_ov_populated(c->vm, c->m, (uint32_t)c->map, key);
	/* Without a target, the low flag bits are the action. */
	if (!found && !(flags & BPF_F_BROADCAST)) {
		c->ret = flags & actions;
		return 0;
	}
	c->ret = XDP_REDIRECT_;
	return effect(c, NULL, 0, NULL, 0);
}

/* ---- XDP packet bounds -------------------------------------------------------------------- */

static void dirty(struct k2_machine *m)
{
	if (m->meta_off < m->dirty_lo)
		m->dirty_lo = m->meta_off;
	if (m->end_off > m->dirty_hi)
		m->dirty_hi = m->end_off;
}

static int h_adjust_head(struct hcall *c)
{
	struct k2_machine *m = c->m;
	int64_t off = (int32_t)c->a[1], meta = m->data_off - m->meta_off;
	int64_t data = (int64_t)m->data_off + off;

	if (data < K2_XDP_FRAME_SZ + meta || data > (int64_t)m->end_off - ETH_HLEN_) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (meta)
		memmove(m->pkt + m->meta_off + off, m->pkt + m->meta_off, (size_t)meta);
	m->meta_off = (uint32_t)((int64_t)m->meta_off + off);
	m->data_off = (uint32_t)data;
	dirty(m);
	c->ret = 0;
	return 0;
}

static int h_adjust_meta(struct hcall *c)
{
	struct k2_machine *m = c->m;
	int64_t meta = (int64_t)m->meta_off + (int32_t)c->a[1];
	int64_t len = (int64_t)m->data_off - meta;

	if (meta < K2_XDP_FRAME_SZ || meta > m->data_off) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if ((len & 3) || len > 255) {
		c->ret = NEG(EACCES);
		return 0;
	}
	m->meta_off = (uint32_t)meta;
	dirty(m);
	c->ret = 0;
	return 0;
}

static int h_adjust_tail(struct hcall *c)
{
	struct k2_machine *m = c->m;
	int64_t off = (int32_t)c->a[1], end = (int64_t)m->end_off + off;

	if (end > K2_PKT_BUF - K2_PKT_TAILROOM || end < (int64_t)m->data_off + ETH_HLEN_) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (off > 0)
		memset(m->pkt + m->end_off, 0, (size_t)off);
	m->end_off = (uint32_t)end;
	dirty(m);
	c->ret = 0;
	return 0;
}

/* ---- checksums --------------------------------------------------------------------------- */

/* x86 csum_partial: a 32-bit ones'-complement sum with end-around carry. */
static uint32_t csum_partial(const uint8_t *p, uint32_t n, uint32_t seed)
{
	uint64_t s = seed;
	uint32_t w;

	for (uint32_t i = 0; i + 4 <= n; i += 4) {
		memcpy(&w, p + i, 4);
		s += w;
	}
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

static uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;

	return r + (r < b);
}

static uint32_t csum_sub(uint32_t a, uint32_t b)
{
	return csum_add(a, ~b);
}

static uint16_t csum_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static int h_csum_diff(struct hcall *c)
{
	uint64_t fs = c->a[1], ts = c->a[3];
	uint32_t s = (uint32_t)c->a[4];
	uint8_t tmp[512];

	if (((fs | ts) & 3) || fs + ts > 512) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	for (uint64_t i = 0; i < fs; i++)
		tmp[i] = (uint8_t)~c->rd[0][i];
	if (ts)
		memcpy(tmp + fs, c->rd[2], ts);
	c->ret = csum_partial(tmp, (uint32_t)(fs + ts), s);
	return 0;
}

static uint32_t skb_len(struct hcall *c)
{
	return c->m->end_off - c->m->data_off;
}

static int h_skb_store(struct hcall *c)
{
	uint64_t off = (uint32_t)c->a[1], n = (uint32_t)c->a[3], fl = c->a[4];

	if (fl & ~(uint64_t)(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (off > 0xffff || off + n > skb_len(c)) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	memmove(c->m->pkt + c->m->data_off + off, c->rd[2], n);
	c->ret = 0;
	return 0;
}

static uint8_t *csum_field(struct hcall *c, uint64_t off)
{
	if (off > 0xffff || off + 2 > skb_len(c))
		return NULL;
	return c->m->pkt + c->m->data_off + off;
}

static int h_l3_csum(struct hcall *c)
{
	uint64_t fl = c->a[4], from = c->a[2], to = c->a[3];
	uint8_t *p;
	uint16_t sum, r;

	if (fl & ~(uint64_t)BPF_F_HDR_FIELD_MASK) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (!(p = csum_field(c, (uint32_t)c->a[1]))) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	memcpy(&sum, p, 2);
	switch (fl & BPF_F_HDR_FIELD_MASK) {
	case 0:
		if (from) {
			c->ret = NEG(EINVAL);
			return 0;
		}
		r = csum_fold(csum_add((uint32_t)to, ~(uint32_t)sum));
		break;
	case 2: { /* csum_replace2: 16-bit ones'-complement arithmetic on the raw field */
		uint16_t o = (uint16_t)~(uint16_t)from, n = (uint16_t)to, t = (uint16_t)~sum;

		t = (uint16_t)(t + o);
		t = (uint16_t)(t + (t < o));
		t = (uint16_t)(t + n);
		t = (uint16_t)(t + (t < n));
		r = (uint16_t)~t;
		break;
	}
	case 4:
		r = csum_fold(csum_add(csum_sub(~(uint32_t)sum, (uint32_t)from), (uint32_t)to));
		break;
	default:
		c->ret = NEG(EINVAL);
		return 0;
	}
	memcpy(p, &r, 2);
	c->ret = 0;
	return 0;
}

static int h_l4_csum(struct hcall *c)
{
	uint64_t fl = c->a[4], from = c->a[2], to = c->a[3];
	bool mm0 = fl & BPF_F_MARK_MANGLED_0, force = fl & BPF_F_MARK_ENFORCE;
	uint8_t *p;
	uint16_t sum, r;

	if (fl & ~(uint64_t)(BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR |
			     BPF_F_HDR_FIELD_MASK | (1ull << 7) /* BPF_F_IPV6 */)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (!(p = csum_field(c, (uint32_t)c->a[1]))) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	memcpy(&sum, p, 2);
	c->ret = 0;
	if (mm0 && !force && !sum)
		return 0;
	/* test_run's skb is CHECKSUM_NONE: every size folds the 32-bit replacement. */
	switch (fl & BPF_F_HDR_FIELD_MASK) {
	case 0:
		r = csum_fold(csum_add((uint32_t)to, ~(uint32_t)sum));
		break;
	case 2:
		r = csum_fold(csum_add(csum_sub(~(uint32_t)sum, (uint16_t)from), (uint16_t)to));
		break;
	case 4:
		r = csum_fold(csum_add(csum_sub(~(uint32_t)sum, (uint32_t)from), (uint32_t)to));
		break;
	default:
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (mm0 && !r)
		r = 0xffff; /* CSUM_MANGLED_0 */
	memcpy(p, &r, 2);
	return 0;
}

/* ---- packet reads and outputs ------------------------------------------------------------ */

static int h_skb_load(struct hcall *c)
{
	uint64_t off = (uint32_t)c->a[1], n = (uint32_t)c->a[3];

	if (off > 0x7fffffff || off + n > skb_len(c)) {
		memset(c->wr[2], 0, n);
		c->ret = NEG(EFAULT);
		return 0;
	}
	memcpy(c->wr[2], c->m->pkt + c->m->data_off + off, n);
	c->ret = 0;
	return 0;
}

static int h_fib_lookup(struct hcall *c)
{
	uint64_t plen = c->a[2], fl = c->a[3], v;
	uint8_t *p = c->wr[1];

	if (plen < 64 || (fl & ~(uint64_t)0x3f)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	c->ret = ndet(c);
	if (c->ret != 0)
		return 0;
	v = ndet(c);
	memcpy(p + 8, &v, 4);   /* ifindex */
	v = ndet(c);
	memcpy(p + 52, &v, 6);  /* smac */
	v = ndet(c);
	memcpy(p + 58, &v, 6);  /* dmac */
	return 0;
}

static int h_perf_output(struct hcall *c)
{
	struct k2_machine *m = c->m;
	uint64_t fl = c->a[2], idx = fl & BPF_F_INDEX_MASK, ctxlen = fl >> 32;
	bool net = c->vm->type == BPF_PROG_TYPE_XDP || k2_type_is_skb(c->vm->type);

	if (map_type(c) != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return bad(c, "perf_event_output needs a perf_event_array");
	if (fl & ~(uint64_t)(BPF_F_INDEX_MASK | (net ? BPF_F_CTXLEN_MASK : 0))) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	if (ctxlen > (uint64_t)(m->end_off - m->data_off)) {
		c->ret = NEG(EFAULT);
		return 0;
	}
	if (idx == BPF_F_CURRENT_CPU)
		idx = m->in->cpu;
	if (idx >= cmap(c)->def.max_entries) {
		c->ret = NEG(E2BIG);
		return 0;
	}
	if (!k2_ov_populated(c->vm, m, (uint32_t)c->map, (uint32_t)idx)) {
		c->ret = NEG(ENOENT);
		return 0;
	}
	c->ret = 0;
	return effect(c, c->rd[3], (uint32_t)c->a[4], m->pkt + m->data_off, (uint32_t)ctxlen);
}

static int h_ringbuf_output(struct hcall *c)
{
	struct k2_machine *m = c->m;
	uint64_t n = c->a[2], rec = (n + 8 + 7) & ~7ull, cap = cmap(c)->def.max_entries;
	uint32_t *used = c->map < 64 ? &m->ringbuf_used[c->map] : NULL;

	if (map_type(c) != BPF_MAP_TYPE_RINGBUF)
		return bad(c, "ringbuf_output needs a ringbuf");
	if (c->a[3] & ~(uint64_t)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) {
		c->ret = NEG(EINVAL);
		return 0;
	}
	/* The producer may not get more than size - 1 bytes ahead of the (absent) consumer. */
	if (used && *used + rec > cap - 1) {
		c->ret = NEG(EAGAIN);
		return 0;
	}
	if (used)
		*used += (uint32_t)rec;
	c->ret = 0;
	return effect(c, c->rd[1], (uint32_t)n, NULL, 0);
}

/* ---- the table ----------------------------------------------------------------------------- */

static const k2_model_fn models[] = {
	[BPF_FUNC_map_lookup_elem] = h_map_lookup,
	[BPF_FUNC_map_update_elem] = h_map_update,
	[BPF_FUNC_map_delete_elem] = h_map_delete,
	[BPF_FUNC_probe_read] = h_probe_read,
	[BPF_FUNC_ktime_get_ns] = h_ndet64,
	[BPF_FUNC_trace_printk] = h_printk,
	[BPF_FUNC_get_prandom_u32] = h_ndet32,
	[BPF_FUNC_get_smp_processor_id] = h_cpu,
	[BPF_FUNC_skb_store_bytes] = h_skb_store,
	[BPF_FUNC_l3_csum_replace] = h_l3_csum,
	[BPF_FUNC_l4_csum_replace] = h_l4_csum,
	[BPF_FUNC_tail_call] = h_tail_call,
	[BPF_FUNC_get_current_pid_tgid] = h_ndet64,
	[BPF_FUNC_get_current_uid_gid] = h_ndet64,
	[BPF_FUNC_get_current_comm] = h_comm,
	[BPF_FUNC_redirect] = h_redirect,
	[BPF_FUNC_perf_event_output] = h_perf_output,
	[BPF_FUNC_skb_load_bytes] = h_skb_load,
	[BPF_FUNC_csum_diff] = h_csum_diff,
	[BPF_FUNC_get_numa_node_id] = h_numa,
	[BPF_FUNC_xdp_adjust_head] = h_adjust_head,
	[BPF_FUNC_redirect_map] = h_redirect_map,
	[BPF_FUNC_xdp_adjust_meta] = h_adjust_meta,
	[BPF_FUNC_xdp_adjust_tail] = h_adjust_tail,
	[BPF_FUNC_fib_lookup] = h_fib_lookup,
	[BPF_FUNC_get_current_cgroup_id] = h_ndet64,
	[BPF_FUNC_probe_read_user] = h_probe_read,
	[BPF_FUNC_probe_read_kernel] = h_probe_read,
	[BPF_FUNC_jiffies64] = h_ndet64,
	[BPF_FUNC_ktime_get_boot_ns] = h_ndet64,
	[BPF_FUNC_ringbuf_output] = h_ringbuf_output,
	[BPF_FUNC_ktime_get_coarse_ns] = h_ndet64,
};

/* ---- argument checks by kind ---------------------------------------------------------------- */

static int arg_scalar(struct hcall *c, int i)
{
	if (c->at[i] == K2_T_UNINIT)
		return k2_fail(c->m, K2_RUN_EUNINIT, "helper argument is uninitialised");
	if (c->at[i] != K2_T_SCALAR)
		return k2_fail(c->m, K2_RUN_EPTR, "helper argument leaks a pointer");
	return 0;
}

static int arg_mem(struct hcall *c, int i, uint64_t len, bool write)
{
	if (write)
		c->wr[i] = k2_mem_helper_write(c->vm, c->m, c->at[i], c->a[i], len);
	else
		c->rd[i] = k2_mem_helper_read(c->vm, c->m, c->at[i], c->a[i], len);
	if (!(write ? (void *)c->wr[i] : (void *)c->rd[i]))
		return c->m->status == K2_RUN_OK ? bad(c, "bad helper memory") : K2_STOP_ERROR;
	return 0;
}

static int arg_sized(struct hcall *c, int i, uint8_t kind)
{
	uint8_t sk = i + 1 < 5 ? c->h->args[i + 1] : K2_ARG_NONE;
	bool or_null = kind == K2_ARG_MEM_OR_NULL, w = kind == K2_ARG_UNINIT_MEM;
	uint64_t len;

	if (arg_scalar(c, i + 1))
		return K2_STOP_ERROR;
	len = c->a[i + 1];
	if (len >= (1u << 29) || (sk == K2_ARG_SIZE && len == 0))
		return bad(c, "helper size argument out of range");
	if (or_null && c->at[i] == K2_T_SCALAR && c->a[i] == 0) {
		if (len)
			return bad(c, "NULL memory argument with a non-zero size");
		return 0;
	}
	if (!len) {
		if (c->at[i] == K2_T_UNINIT)
			return k2_fail(c->m, K2_RUN_EUNINIT, "helper argument is uninitialised");
		return 0;
	}
	/* fib_lookup reads and writes its params. */
	if (c->id == BPF_FUNC_fib_lookup && arg_mem(c, i, len, false))
		return K2_STOP_ERROR;
	return arg_mem(c, i, len, w || c->id == BPF_FUNC_fib_lookup);
}

static int check_args(struct hcall *c)
{
	const struct k2_helper *h = c->h;

	for (int i = 0; i < h->nargs; i++) {
		uint8_t k = h->args[i];

		switch (k) {
		case K2_ARG_NONE:
			break;
		case K2_ARG_ANYTHING:
		case K2_ARG_SIZE:
		case K2_ARG_SIZE_OR_ZERO:
			if (arg_scalar(c, i))
				return K2_STOP_ERROR;
			break;
		case K2_ARG_CTX:
			if (c->at[i] != K2_T_CTX || c->a[i] != K2_ADDR(K2_RGN_CTX, 0, 0))
				return bad(c, "helper needs the unmodified context pointer");
			break;
		case K2_ARG_MAP_PTR:
			if (c->at[i] != K2_T_MAP)
				return bad(c, "helper needs a map");
			c->map = (int32_t)K2_ADDR_IDX(c->a[i]);
			break;
		case K2_ARG_MAP_KEY:
		case K2_ARG_MAP_VALUE:
			if (c->map < 0)
				return bad(c, "map key/value without a map");
			if (arg_mem(c, i, k == K2_ARG_MAP_KEY ? cmap(c)->ksize : cmap(c)->vsize, false))
				return K2_STOP_ERROR;
			break;
		default: /* MEM, MEM_OR_NULL, UNINIT_MEM; the size is the next argument */
			if (arg_sized(c, i, k))
				return K2_STOP_ERROR;
			i++;
			break;
		}
	}
	return 0;
}

int k2_helper_call(struct k2_vm *vm, struct k2_machine *m, int32_t id)
{
	struct hcall c = { .vm = vm, .m = m, .id = (uint32_t)id, .map = -1 };
	int rc;

	c.h = k2_helper_find((uint32_t)id);
	if (!c.h || (uint32_t)id >= sizeof(models) / sizeof(models[0]) || !models[id])
		return k2_fail(m, K2_RUN_EHELPER, "helper not modelled");
	if (!k2_helper_allowed(c.h, vm->type))
		return k2_fail(m, K2_RUN_EHELPER, "helper not allowed for this program type");
	for (int i = 0; i < 5; i++) {
		c.a[i] = m->r[1 + i];
		c.at[i] = m->t[1 + i];
	}
	if (check_args(&c))
		return K2_STOP_ERROR;
	rc = models[id](&c);
	if (rc == K2_STOP_ERROR)
		return rc;
	m->r[0] = c.ret;
	m->t[0] = c.ret_t;
	for (int i = 1; i <= 5; i++)
		m->t[i] = K2_T_UNINIT;
	if (c.h->flags & K2_H_PKT_CHANGE)
		k2_mem_invalidate_pkt(m);
	return rc;
}
