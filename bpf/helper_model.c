/* bpf/helper_model.c: helper models by id: argument checks from the signatures, then models. */
#include <stdio.h>
#include <string.h>

#include "bpf/k2_rand.h"
#include "bpf/vm_internal.h"

#include "bpf/helper_model.h"

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

uint64_t k2_h_ndet(struct hcall *c)
{
	return k2_ndet_value(c->m->in, c->m->ndet_i++);
}

/* Appends an effect with `n` bytes of data (two pieces, either may be empty). */
int k2_h_effect(struct hcall *c, const uint8_t *p1, uint32_t n1, const uint8_t *p2, uint32_t n2)
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

const struct k2_mapinfo *k2_h_map(struct hcall *c)
{
	return &c->vm->maps[c->map];
}

uint32_t k2_h_map_type(struct hcall *c)
{
	return k2_h_map(c)->def.type;
}

int k2_h_bad(struct hcall *c, const char *why)
{
	return k2_fail(c->m, K2_RUN_EHELPER, why);
}

/* ---- maps ------------------------------------------------------------------------------ */

static bool plain_data_map(const struct k2_mapinfo *mi)
{
	return (mi->arraylike && !mi->objarray) || mi->hashlike || mi->lpm;
}

/*
 * Map-in-map: an element's value names an inner map by its index among the program's maps
 * (where the kernel stores a map fd). A lookup gives that map, or NULL.
 */
static int map_in_map(struct hcall *c)
{
	int32_t ent = k2_ms_find(c->m->in->maps, (uint32_t)c->map, c->rd[1]);
	uint32_t inner;

	c->ret = 0;
	if (ent < 0)
		return 0;
	memcpy(&inner, k2_ms_entry_val(c->m->in->maps, (uint32_t)c->map, ent, 0), 4);
	if (inner >= c->vm->n_maps)
		return 0;
	c->ret = K2_ADDR(K2_RGN_MAP, inner, 0);
	c->ret_t = K2_T_MAP;
	return 0;
}

/*
 * An xskmap lookup (XDP, since 5.3) gives the socket in a slot or NULL. A socket is a kernel
 * object the program may only null-check or pass on, so a populated slot gives a
 * non-dereferenceable pointer (typed as a map: every access through it is EMEM).
 */
static int xsk_lookup(struct hcall *c)
{
	uint32_t idx;

	memcpy(&idx, c->rd[1], sizeof(idx));
	c->ret = 0;
	if (k2_ov_populated(c->vm, c->m, (uint32_t)c->map, idx)) {
		c->ret = K2_ADDR(K2_RGN_MAP, (uint32_t)c->map, 1 + idx);
		c->ret_t = K2_T_MAP;
	}
	return 0;
}

static int h_map_lookup(struct hcall *c)
{
	const struct k2_mapinfo *mi = k2_h_map(c);
	int err;
	int32_t s;

	if (mi->def.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || mi->def.type == BPF_MAP_TYPE_HASH_OF_MAPS)
		return map_in_map(c);
	if (mi->def.type == BPF_MAP_TYPE_XSKMAP)
		return xsk_lookup(c);
	if (!plain_data_map(mi) && mi->def.type != BPF_MAP_TYPE_DEVMAP &&
	    mi->def.type != BPF_MAP_TYPE_DEVMAP_HASH)
		return k2_h_bad(
			c,
			"map_lookup_elem on a map type that does not allow it (or not modelled)");
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
	const struct k2_mapinfo *mi = k2_h_map(c);

	if (!plain_data_map(mi) || mi->def.type == BPF_MAP_TYPE_HASH_OF_MAPS)
		return k2_h_bad(
			c, "map update/delete on a map type that does not allow it from a program");
	if (mi->def.readonly || (mi->def.flags & BPF_F_RDONLY_PROG))
		return k2_h_bad(c, "map update/delete on a map that is read-only to programs");
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
	c->ret = k2_h_ndet(c);
	return 0;
}

static int h_ndet32(struct hcall *c)
{
	c->ret = (uint32_t)k2_h_ndet(c);
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
	if (src < 4096 || src + n < src ||
	    (!user && c->id != BPF_FUNC_probe_read && src >> 63 == 0) || (user && src >> 63)) {
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
	uint64_t v = k2_h_ndet(c), n = c->a[1];
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
		return 16; /* %p prints a hashed pointer: 16 hex digits */
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
		return k2_h_effect(c, c->rd[0], (uint32_t)n, NULL, 0);
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
			return k2_h_effect(c, c->rd[0], (uint32_t)n, NULL, 0);
		}
		len = conv_len(c, spec, *p, lmod,
			       c->at[2 + argi] == K2_T_UNINIT ? 0 : c->a[2 + argi],
			       c->at[2 + argi]);
		if (len == -2)
			return K2_STOP_ERROR;
		if (len < 0) {
			c->ret = NEG(EINVAL);
			return k2_h_effect(c, c->rd[0], (uint32_t)n, NULL, 0);
		}
		argi++;
		total += (uint64_t)len;
	}
	c->ret = total;
	return k2_h_effect(c, c->rd[0], (uint32_t)n, NULL, 0);
}

/* ---- control transfer: tail calls and redirects ------------------------------------------ */

static int h_tail_call(struct hcall *c)
{
	struct k2_machine *m = c->m;
	uint32_t idx = (uint32_t)c->a[2];

	if (k2_h_map_type(c) != BPF_MAP_TYPE_PROG_ARRAY)
		return k2_h_bad(c, "tail_call needs a prog_array");
	/* An out-of-range index, an empty slot or too many tail calls: the call falls through.
	 * (The kernel's JIT leaves r0 undefined then; the model says -ENOENT.) */
	if (idx >= k2_h_map(c)->def.max_entries || m->tail_calls >= K2_MAX_TAIL_CALLS ||
	    !k2_ov_populated(c->vm, m, (uint32_t)c->map, idx)) {
		c->ret = NEG(ENOENT);
		return 0;
	}
	m->tail_calls++;
	m->tail_call = true;
	m->tail_map = (uint32_t)c->map;
	m->tail_index = idx;
	c->ret = 0;
	if (k2_h_effect(c, NULL, 0, NULL, 0))
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
		return k2_h_effect(c, NULL, 0, NULL, 0);
	return 0;
}

static int h_redirect_map(struct hcall *c)
{
	uint32_t t = k2_h_map_type(c), key = (uint32_t)c->a[1];
	uint64_t flags = c->a[2], actions = 3, extra = 0;
	bool found;

	if (t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH)
		extra = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
	else if (t != BPF_MAP_TYPE_CPUMAP && t != BPF_MAP_TYPE_XSKMAP)
		return k2_h_bad(c, "redirect_map needs a devmap, cpumap or xskmap");
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
	return k2_h_effect(c, NULL, 0, NULL, 0);
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
	[BPF_FUNC_skb_store_bytes] = k2_h_skb_store,
	[BPF_FUNC_l3_csum_replace] = k2_h_l3_csum,
	[BPF_FUNC_l4_csum_replace] = k2_h_l4_csum,
	[BPF_FUNC_tail_call] = h_tail_call,
	[BPF_FUNC_get_current_pid_tgid] = h_ndet64,
	[BPF_FUNC_get_current_uid_gid] = h_ndet64,
	[BPF_FUNC_get_current_comm] = h_comm,
	[BPF_FUNC_redirect] = h_redirect,
	[BPF_FUNC_perf_event_output] = k2_h_perf_output,
	[BPF_FUNC_skb_load_bytes] = k2_h_skb_load,
	[BPF_FUNC_csum_diff] = k2_h_csum_diff,
	[BPF_FUNC_get_numa_node_id] = h_numa,
	[BPF_FUNC_xdp_adjust_head] = k2_h_adjust_head,
	[BPF_FUNC_redirect_map] = h_redirect_map,
	[BPF_FUNC_xdp_adjust_meta] = k2_h_adjust_meta,
	[BPF_FUNC_xdp_adjust_tail] = k2_h_adjust_tail,
	[BPF_FUNC_fib_lookup] = k2_h_fib_lookup,
	[BPF_FUNC_get_current_cgroup_id] = h_ndet64,
	[BPF_FUNC_probe_read_user] = h_probe_read,
	[BPF_FUNC_probe_read_kernel] = h_probe_read,
	[BPF_FUNC_jiffies64] = h_ndet64,
	[BPF_FUNC_ktime_get_boot_ns] = h_ndet64,
	[BPF_FUNC_ringbuf_output] = k2_h_ringbuf_output,
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
		return c->m->status == K2_RUN_OK ? k2_h_bad(c, "bad helper memory") : K2_STOP_ERROR;
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
		return k2_h_bad(c, "helper size argument out of range");
	if (or_null && c->at[i] == K2_T_SCALAR && c->a[i] == 0) {
		if (len)
			return k2_h_bad(c, "NULL memory argument with a non-zero size");
		return 0;
	}
	if (!len) {
		/* no byte is touched, but the verifier still checks the register's type: a
		 * scalar (other than the NULL above) or a ctx or map pointer is refused */
		if (c->at[i] == K2_T_UNINIT)
			return k2_fail(c->m, K2_RUN_EUNINIT, "helper argument is uninitialised");
		if (c->at[i] != K2_T_STACK && c->at[i] != K2_T_PKT && c->at[i] != K2_T_PKT_META &&
		    c->at[i] != K2_T_MAP_VALUE)
			return k2_h_bad(c, "helper memory argument is not a pointer to memory");
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
				return k2_h_bad(c, "helper needs the unmodified context pointer");
			break;
		case K2_ARG_MAP_PTR:
			if (c->at[i] != K2_T_MAP)
				return k2_h_bad(c, "helper needs a map");
			c->map = (int32_t)K2_ADDR_IDX(c->a[i]);
			break;
		case K2_ARG_MAP_KEY:
		case K2_ARG_MAP_VALUE:
			if (c->map < 0)
				return k2_h_bad(c, "map key/value without a map");
			if (arg_mem(c, i,
				    k == K2_ARG_MAP_KEY ? k2_h_map(c)->ksize : k2_h_map(c)->vsize,
				    false))
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
