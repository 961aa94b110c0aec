/* tests/unit/wstate_io.c: window states to bytes and back: exact round trips, bad bytes refused. */
#include "tests/unit/interp_util.h"

/* Map lookups and updates (slots: present, absent, a new element), stack spills of pointers,
 * packet writes, a bpf-to-bpf call (a second frame): every kind of state content. */
static const char *prog_text =
	"r6 = r1\n"
	"r2 = *(u32 *)(r6 + 0)\nr3 = *(u32 *)(r6 + 4)\nr4 = r2\nr4 += 20\n"
	"if r4 > r3 goto drop\n"
	"*(u64 *)(r10 - 24) = r2\n"                 /* a spilled packet pointer */
	"r5 = *(u8 *)(r2 + 12)\n*(u32 *)(r10 - 4) = r5\n"
	"r1 = map[idx:0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
	"if r0 == 0 goto miss\n"
	"r1 = *(u64 *)(r0 + 0)\nr1 += 7\n*(u64 *)(r0 + 0) = r1\n"
	"miss:\n"
	"r1 = 9\n*(u64 *)(r10 - 16) = r1\n"
	"r1 = map[idx:0] ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\ncall 2\n"
	"r1 = *(u8 *)(r10 - 4)\n"
	"call sub\n"
	"r2 = *(u64 *)(r10 - 24)\n"
	"r3 = *(u8 *)(r2 + 13)\nr3 ^= r0\n*(u8 *)(r2 + 13) = r3\n"
	"r0 = 2\nexit\n"
	"drop:\nr0 = 1\nexit\n"
	"sub:\n"
	"*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nr0 *= 3\nexit\n";

struct fixture {
	struct k2_map map;
	struct k2_prog prog;
	struct k2_vm *vm;
	struct k2_mapstate *ms;
	struct k2_input *in;
	struct k2_wstate *a, *b;
	struct k2_window *w;
};

static void setup(struct fixture *f)
{
	uint32_t k;
	uint64_t v = 100;

	memset(f, 0, sizeof(*f));
	f->map = (struct k2_map){ .name = "m", .type = BPF_MAP_TYPE_HASH, .key_size = 4,
				  .value_size = 8, .max_entries = 256, .inner = -1 };
	f->prog = prog_of(BPF_PROG_TYPE_XDP, prog_text, &f->map, 1);
	f->prog.n_main = 34; /* the call's target starts after main's last exit */
	f->vm = vm_of(&f->prog);
	cr_assert_eq(k2_mapstate_new(&f->map, 1, 1, &f->ms, NULL), 0);
	for (k = 0; k < 256; k += 2)
		cr_assert_eq(k2_mapstate_update(f->ms, 0, &k, &v, BPF_ANY), 0);
	f->in = calloc(1, sizeof(*f->in));
	f->in->maps = f->ms;
	f->in->pkt_len = 40;
	cr_assert_eq(k2_wstate_new(f->vm, &f->a), 0);
	cr_assert_eq(k2_wstate_new(f->vm, &f->b), 0);
	cr_assert_eq(k2_window_new(&f->w), 0);
}

static void teardown(struct fixture *f)
{
	k2_window_free(f->w);
	k2_wstate_free(f->a);
	k2_wstate_free(f->b);
	k2_vm_free(f->vm);
	k2_mapstate_free(f->ms);
	free(f->in);
	free(f->prog.insns);
}

static uint8_t *encode(const struct fixture *f, const struct k2_wstate *st, size_t *len)
{
	struct k2_err e = { 0 };
	size_t need, got;
	uint8_t *buf;

	cr_assert_eq(k2_wstate_encode(f->vm, st, NULL, 0, &need, &e), 0, "%s", e.msg);
	buf = malloc(need);
	cr_assert_eq(k2_wstate_encode(f->vm, st, buf, need, &got, &e), 0, "%s", e.msg);
	cr_assert_eq(got, need);
	*len = got;
	return buf;
}

/* Whether a register holds a map value pointer (the state has a map slot). */
static bool has_map_value(const struct k2_wstate *st)
{
	for (unsigned r = 0; r < K2_NREGS; r++) {
		enum k2_rtype t;
		uint64_t v;

		k2_wstate_get_reg(st, r, &t, &v);
		if (t == K2_T_MAP_VALUE)
			return true;
	}
	return false;
}

/* The straight-line stretch from pc to the first call or exit (a window must hold neither). */
static uint32_t window_end(const struct k2_prog *p, uint32_t pc)
{
	uint32_t i = pc;

	while (i < p->n_main) {
		uint8_t c = p->insns[i].code;

		if (c == (BPF_JMP | BPF_CALL) || c == (BPF_JMP | BPF_EXIT))
			break;
		i += c == (BPF_LD | BPF_IMM | BPF_DW) ? 2 : 1;
	}
	return i;
}

Test(wstate_io, snapshots_round_trip_exactly)
{
	struct fixture f;
	struct k2_rng rng;
	struct k2_err e = { 0 };
	unsigned checked = 0, with_slots = 0, deep = 0;

	setup(&f);
	k2_rng_seed(&rng, 11);
	for (int iter = 0; iter < 24; iter++) {
		f.in->pkt_len = 14 + (uint32_t)k2_rng_below(&rng, 40);
		for (uint32_t i = 0; i < f.in->pkt_len; i++)
			f.in->pkt[i] = (uint8_t)k2_rng_next(&rng);
		for (uint32_t pc = 0; pc < f.prog.n_insns; pc++) {
			uint8_t *x, *y;
			size_t lx, ly;
			struct k2_wout oa, ob;
			uint32_t end = window_end(&f.prog, pc);
			bool err;

			if (k2_vm_snapshot(f.vm, f.in, pc, f.a, NULL) != 1)
				continue;
			x = encode(&f, f.a, &lx);
			cr_assert_eq(k2_wstate_decode(f.vm, f.b, x, lx, f.in, &e), 0, "pc %u: %s",
				     pc, e.msg);
			y = encode(&f, f.b, &ly);
			cr_assert_eq(lx, ly, "pc %u", pc);
			cr_assert_eq(memcmp(x, y, lx), 0, "pc %u: re-encoding differs", pc);
			with_slots += has_map_value(f.a);
			deep += k2_wstate_frame(f.a) > 0;
			/* a window from here runs the same on both */
			if (end > pc) {
				cr_assert_eq(k2_window_set(f.w, f.vm, f.prog.insns + pc, end - pc,
							   &e), 0, "%s", e.msg);
				k2_vm_wrun(f.vm, f.w, f.a, &oa);
				k2_vm_wrun(f.vm, f.w, f.b, &ob);
				cr_assert_eq(oa.status, ob.status, "pc %u", pc);
				cr_assert_eq(oa.exit, ob.exit, "pc %u", pc);
				cr_assert_eq(k2_wout_distance(&oa, &ob, 0x7ff, &err), 0, "pc %u", pc);
				cr_assert_not(err);
				cr_assert_eq(memcmp(oa.t, ob.t, sizeof(oa.t)), 0);
			}
			checked++;
			free(x);
			free(y);
		}
	}
	cr_expect_gt(checked, 200);
	cr_expect_gt(with_slots, 20, "states with map slots were checked");
	cr_expect_gt(deep, 10, "states inside the subprogram were checked");
	teardown(&f);
}

Test(wstate_io, hand_made_state_and_its_size)
{
	struct fixture f;
	struct k2_err e = { 0 };
	uint64_t val = 0x1122334455667788ull, addr, stk = 77;
	uint32_t key = 3;
	uint8_t *x, small[8];
	size_t lx, need;
	enum k2_rtype t;
	uint64_t v;

	setup(&f);
	cr_assert_eq(k2_wstate_init(f.vm, f.a, f.in), 0);
	cr_assert_eq(k2_wstate_write(f.a, K2_ADDR(K2_RGN_STACK, 0, 500), &stk, 8), 0);
	cr_assert_eq(k2_wstate_add_slot(f.vm, f.a, 0, &key, &val, &addr), 0);
	k2_wstate_set_reg(f.a, 6, K2_T_MAP_VALUE, addr);
	k2_wstate_set_reg(f.a, 7, K2_T_SCALAR, 0xdeadbeef);
	x = encode(&f, f.a, &lx);
	cr_expect_lt(lx, 200, "an almost empty state is small (%zu bytes)", lx);
	cr_expect_eq(k2_wstate_encode(f.vm, f.a, small, sizeof(small), &need, &e), -ENOSPC);
	cr_expect_eq(need, lx);
	cr_assert_eq(k2_wstate_decode(f.vm, f.b, x, lx, NULL, &e), 0, "%s", e.msg);
	k2_wstate_get_reg(f.b, 6, &t, &v);
	cr_expect_eq(t, K2_T_MAP_VALUE);
	cr_expect_eq(v, addr);
	k2_wstate_get_reg(f.b, 7, &t, &v);
	cr_expect_eq(v, 0xdeadbeef);
	val = 0;
	cr_assert_eq(k2_wstate_read(f.b, addr, &val, 8), 0);
	cr_expect_eq(val, 0x1122334455667788ull);
	cr_assert_eq(k2_wstate_read(f.b, K2_ADDR(K2_RGN_STACK, 0, 500), &stk, 8), 0);
	cr_expect_eq(stk, 77);
	free(x);
	teardown(&f);
}

/* Every truncation and many corruptions are refused or give some valid state; never a crash
 * (this file also runs under ASan and UBSan). */
Test(wstate_io, bad_bytes_are_refused)
{
	struct fixture f;
	struct k2_err e = { 0 };
	struct k2_rng rng;
	uint8_t *x, *y;
	size_t lx;
	unsigned refused = 0;

	setup(&f);
	k2_rng_seed(&rng, 3);
	f.in->pkt_len = 40;
	f.in->pkt[12] = 4;
	cr_assert_eq(k2_vm_snapshot(f.vm, f.in, 30, f.a, NULL), 1);
	x = encode(&f, f.a, &lx);
	for (size_t n = 0; n < lx; n++) {
		cr_assert_lt(k2_wstate_decode(f.vm, f.b, x, n, f.in, &e), 0, "%zu bytes", n);
		cr_assert_eq(k2_wstate_frame(f.b), 0, "nothing half-restored");
		cr_assert_not(has_map_value(f.b));
	}
	cr_expect(strstr(e.msg, "window state") != NULL, "%s", e.msg);
	y = malloc(lx);
	for (int i = 0; i < 4000; i++) {
		memcpy(y, x, lx);
		for (int k = 0; k < 1 + i % 3; k++)
			y[k2_rng_below(&rng, lx)] ^= (uint8_t)(1u << k2_rng_below(&rng, 8));
		if (k2_wstate_decode(f.vm, f.b, y, lx, f.in, &e) < 0)
			refused++;
		else
			cr_assert_leq(k2_wstate_frame(f.b), K2_MAX_FRAMES - 1);
	}
	cr_expect_gt(refused, 100);
	free(x);
	free(y);
	teardown(&f);
}

Test(wstate_io, other_programs_states_are_refused)
{
	struct fixture f;
	struct k2_prog p = prog_of(BPF_PROG_TYPE_XDP, "r0 = 0\nexit\n", NULL, 0);
	struct k2_vm *vm = vm_of(&p);
	struct k2_wstate *st;
	struct k2_err e = { 0 };
	uint8_t *x;
	size_t lx;

	setup(&f);
	cr_assert_eq(k2_wstate_init(f.vm, f.a, f.in), 0);
	x = encode(&f, f.a, &lx);
	cr_assert_eq(k2_wstate_new(vm, &st), 0);
	cr_expect_eq(k2_wstate_decode(vm, st, x, lx, NULL, &e), -EINVAL);
	cr_expect(strstr(e.msg, "program") != NULL, "%s", e.msg);
	free(x);
	k2_wstate_free(st);
	k2_vm_free(vm);
	free(p.insns);
	teardown(&f);
}
