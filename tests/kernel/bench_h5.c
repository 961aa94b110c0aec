/* tests/kernel/bench_h5.c: traces read back with the HDF5 C API: tables, strings, attributes. */
#include <hdf5.h>
#include <math.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/kernel/bench_util.h"

struct row {
	uint32_t id;
	uint8_t flag;
	int32_t delta;
	uint64_t big;
	int64_t neg;
	double x;
	const char *name;
};

static const struct k2_h5_field fields[] = {
	K2_H5_FIELD(struct row, id, K2_H5_U32),   K2_H5_FIELD(struct row, flag, K2_H5_U8),
	K2_H5_FIELD(struct row, delta, K2_H5_I32), K2_H5_FIELD(struct row, big, K2_H5_U64),
	K2_H5_FIELD(struct row, neg, K2_H5_I64),  K2_H5_FIELD(struct row, x, K2_H5_F64),
	K2_H5_FIELD(struct row, name, K2_H5_STR),
};

/* Reading side: its own compound type, field by field, as any HDF5 user would. */
struct rrow {
	uint32_t id;
	uint8_t flag;
	int32_t delta;
	uint64_t big;
	int64_t neg;
	double x;
	char *name;
};

static hid_t read_type(void)
{
	hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct rrow)), s = H5Tcopy(H5T_C_S1);

	H5Tset_size(s, H5T_VARIABLE);
	H5Tset_cset(s, H5T_CSET_UTF8); /* the schema's strings are UTF-8 */
	H5Tinsert(t, "name", HOFFSET(struct rrow, name), s);
	H5Tinsert(t, "x", HOFFSET(struct rrow, x), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "id", HOFFSET(struct rrow, id), H5T_NATIVE_UINT32);
	H5Tinsert(t, "flag", HOFFSET(struct rrow, flag), H5T_NATIVE_UINT8);
	H5Tinsert(t, "delta", HOFFSET(struct rrow, delta), H5T_NATIVE_INT32);
	H5Tinsert(t, "big", HOFFSET(struct rrow, big), H5T_NATIVE_UINT64);
	H5Tinsert(t, "neg", HOFFSET(struct rrow, neg), H5T_NATIVE_INT64);
	H5Tclose(s);
	return t;
}

static char *read_str_attr(hid_t obj, const char *name)
{
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Tcopy(H5T_C_S1);
	char *v = NULL, *copy;

	H5Tset_size(t, H5T_VARIABLE);
	H5Tset_cset(t, H5T_CSET_UTF8);
	cr_assert_geq(a, 0, "no attribute %s", name);
	cr_assert_geq(H5Aread(a, t, &v), 0);
	copy = strdup(v ? v : "");
	H5free_memory(v);
	H5Tclose(t);
	H5Aclose(a);
	return copy;
}

Test(bench_h5, table_rows_read_back)
{
	char dir[] = "/tmp/k2_h5_XXXXXX", path[256], tmp[300];
	struct k2_h5_meta m = { .program = "prog.o", .section = "xdp", .topology = "Machine x",
				.cpu_model = "cpu", .seed = 42 };
	struct k2_h5 *h;
	struct k2_h5_table *t;
	struct k2_err e = { 0 };
	struct row rows[300];
	struct rrow *back;
	struct utsname u;
	hid_t f, d, sp, rt;
	hsize_t n;
	uint64_t seed = 0;
	char *s, names[300][16];

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.h5", dir);
	for (int i = 0; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "row %d", i);
		rows[i] = (struct row){ (uint32_t)i, (uint8_t)(i & 1), -i, (uint64_t)i << 40,
					-(int64_t)i * 1000000007LL, i / 7.0,
					i % 10 == 3 ? NULL : names[i] };
	}
	cr_assert_eq(k2_h5_create(path, &m, NULL, &h, &e), 0, "%s", e.msg);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	cr_assert_eq(access(tmp, F_OK), 0, "written under a temporary name");
	cr_assert_neq(access(path, F_OK), 0);
	cr_assert_eq(k2_h5_group(h, "/search/deep", &e), 0, "%s", e.msg);
	cr_assert_eq(k2_h5_table_create(h, "/search/deep/rows", fields, 7, sizeof(struct row), 64,
					&t, &e),
		     0, "%s", e.msg);
	cr_assert_eq(k2_h5_table_append(t, rows, 100, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_h5_table_append(t, rows + 100, 150, &e), 0, "%s", e.msg);
	k2_h5_table_close(t);
	/* reopened and appended to, as the cluster does between checkpoints */
	cr_assert_eq(
		k2_h5_table_open(h, "/search/deep/rows", fields, 7, sizeof(struct row), &t, &e), 0,
		"%s", e.msg);
	cr_assert_eq(k2_h5_table_rows(t), 250);
	cr_assert_eq(k2_h5_table_append(t, rows + 250, 50, &e), 0, "%s", e.msg);
	k2_h5_table_close(t);
	cr_assert_eq(k2_h5_attr_f64(h, "/search", "budget", 1.5, &e), 0, "%s", e.msg);
	cr_assert_neq(k2_h5_table_create(h, "/nogroup/rows", fields, 7, sizeof(struct row), 0, &t,
					 &e), 0);
	cr_assert(strstr(e.msg, "/nogroup/rows"), "%s", e.msg);
	cr_assert_eq(k2_h5_close(h, &e), 0, "%s", e.msg);
	cr_assert_neq(access(tmp, F_OK), 0, "temporary file left");

	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	cr_assert_geq(f, 0);
	d = H5Dopen2(f, "/search/deep/rows", H5P_DEFAULT);
	cr_assert_geq(d, 0);
	sp = H5Dget_space(d);
	H5Sget_simple_extent_dims(sp, &n, NULL);
	cr_assert_eq(n, 300);
	{ /* compressed and chunked, as the schema says */
		hid_t dcpl = H5Dget_create_plist(d);
		unsigned flags, cd[8];
		size_t ncd = 8;
		int found = 0;

		cr_assert_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
		for (int i = 0; i < H5Pget_nfilters(dcpl); i++)
			found |= H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, 0, NULL,
						NULL) == H5Z_FILTER_DEFLATE;
		cr_assert(found, "no deflate filter");
		H5Pclose(dcpl);
	}
	back = calloc(300, sizeof(*back));
	rt = read_type();
	cr_assert_geq(H5Dread(d, rt, H5S_ALL, H5S_ALL, H5P_DEFAULT, back), 0);
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(back[i].id, rows[i].id);
		cr_assert_eq(back[i].flag, rows[i].flag);
		cr_assert_eq(back[i].delta, rows[i].delta);
		cr_assert_eq(back[i].big, rows[i].big);
		cr_assert_eq(back[i].neg, rows[i].neg);
		cr_assert_eq(back[i].x, rows[i].x);
		cr_assert_str_eq(back[i].name, rows[i].name ? rows[i].name : "", "row %d", i);
	}
	H5Dvlen_reclaim(rt, sp, H5P_DEFAULT, back);
	free(back);
	H5Tclose(rt);
	H5Sclose(sp);
	H5Dclose(d);
	uname(&u);
	s = read_str_attr(f, "kernel_release");
	cr_assert_str_eq(s, u.release);
	free(s);
	s = read_str_attr(f, "program");
	cr_assert_str_eq(s, "prog.o");
	free(s);
	s = read_str_attr(f, "k2_version");
	cr_assert_gt(strlen(s), 0);
	free(s);
	{
		hid_t a = H5Aopen(f, "seed", H5P_DEFAULT);

		cr_assert_geq(H5Aread(a, H5T_NATIVE_UINT64, &seed), 0);
		cr_assert_eq(seed, 42);
		H5Aclose(a);
	}
	H5Fclose(f);
	unlink(path);
	rmdir(dir);
}

Test(bench_h5, abort_leaves_nothing)
{
	char dir[] = "/tmp/k2_h5_XXXXXX", path[256], tmp[300];
	struct k2_h5 *h;
	struct k2_err e = { 0 };

	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.h5", dir);
	cr_assert_eq(k2_h5_create(path, NULL, NULL, &h, &e), 0, "%s", e.msg);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	k2_h5_abort(h);
	cr_assert_neq(access(tmp, F_OK), 0);
	cr_assert_neq(access(path, F_OK), 0);
	cr_assert_eq(rmdir(dir), 0, "directory not empty");
	cr_assert_neq(k2_h5_create("/nonexistent/dir/t.h5", NULL, NULL, &h, &e), 0);
	cr_assert(strstr(e.msg, "/nonexistent/dir/t.h5"), "%s", e.msg);
}

/* What one row of /bench/candidates holds, for the columns checked here. */
struct cand {
	uint32_t id, batch, insns;
	int32_t verdict;
	double ns_median, ratio, pps;
	char *source, *log;
};

Test(bench_h5, bench_group_matches_the_session)
{
	char dir[] = "/tmp/k2_h5_XXXXXX", path[256];
	char *ts = bench_alu_text(10, XDP_PASS), *tl = bench_alu_text(300, XDP_PASS);
	struct k2_prog s = bench_prog("h5_short", ts), l = bench_prog("h5_long", tl);
	struct k2_prog bad = bench_prog("h5_bad", "r0 = r5\nexit\n");
	struct k2_bench_cand c[2] = {
		{ .insns = l.insns, .n_insns = l.n_insns, .source = "long", .windows = "0-300" },
		{ .insns = bad.insns, .n_insns = bad.n_insns, .source = "bad" },
	};
	struct k2_bench *b;
	struct k2_h5 *h;
	struct k2_err e = { 0 };
	struct cand rows[3];
	hid_t f, d, t, str, sp;
	hsize_t n;
	K2_BENCH_OPTS(o, .rounds = 3, .packets = 3, .sample_us = 100);

	bench_need_kernel();
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b.h5", dir);
	cr_assert_eq(k2_bench_new(&s, &o, &b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_add(b, &c[0], NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_add(b, &c[1], NULL, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_measure(b, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_h5_create(path, NULL, NULL, &h, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_trace(b, h, &e), 0, "%s", e.msg);
	cr_assert_eq(k2_bench_trace(b, h, &e), 0, "%s", e.msg); /* nothing new: no duplicates */
	cr_assert_eq(k2_h5_close(h, &e), 0, "%s", e.msg);

	f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	cr_assert_geq(f, 0);
	d = H5Dopen2(f, "/bench/candidates", H5P_DEFAULT);
	sp = H5Dget_space(d);
	H5Sget_simple_extent_dims(sp, &n, NULL);
	cr_assert_eq(n, 3);
	str = H5Tcopy(H5T_C_S1);
	H5Tset_size(str, H5T_VARIABLE);
	H5Tset_cset(str, H5T_CSET_UTF8);
	t = H5Tcreate(H5T_COMPOUND, sizeof(struct cand));
	H5Tinsert(t, "id", HOFFSET(struct cand, id), H5T_NATIVE_UINT32);
	H5Tinsert(t, "batch", HOFFSET(struct cand, batch), H5T_NATIVE_UINT32);
	H5Tinsert(t, "insns", HOFFSET(struct cand, insns), H5T_NATIVE_UINT32);
	H5Tinsert(t, "verdict", HOFFSET(struct cand, verdict), H5T_NATIVE_INT32);
	H5Tinsert(t, "ns_median", HOFFSET(struct cand, ns_median), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "ratio", HOFFSET(struct cand, ratio), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "pps", HOFFSET(struct cand, pps), H5T_NATIVE_DOUBLE);
	H5Tinsert(t, "source", HOFFSET(struct cand, source), str);
	H5Tinsert(t, "verifier_log", HOFFSET(struct cand, log), str);
	cr_assert_geq(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows), 0);
	/* the original of batch 0, then the candidates */
	cr_assert_eq(rows[0].id, 0);
	cr_assert_eq(rows[0].batch, 0);
	cr_assert_eq(rows[1].id, 1);
	cr_assert_eq(rows[2].id, 2);
	cr_assert_eq(rows[1].insns, l.n_insns);
	cr_assert_eq(rows[0].verdict, K2_VERDICT_ACCEPTED);
	cr_assert_eq(rows[2].verdict, K2_VERDICT_REJECTED);
	cr_assert_str_eq(rows[1].source, "long");
	cr_assert_str_eq(rows[1].log, "");
	cr_assert(strstr(rows[2].log, "R5 !read_ok"), "log: %s", rows[2].log);
	cr_assert_eq(rows[0].ns_median, k2_bench_prog(b, 0)->mix.median);
	cr_assert_eq(rows[1].ns_median, k2_bench_prog(b, 1)->mix.median);
	cr_assert_eq(rows[1].ratio, k2_bench_prog(b, 1)->ratio);
	cr_assert(isnan(rows[2].ns_median) && isnan(rows[1].pps));
	H5Dvlen_reclaim(t, sp, H5P_DEFAULT, rows);
	H5Sclose(sp);
	H5Dclose(d);
	/* raw samples: packets x rounds for the original and the measured candidate */
	d = H5Dopen2(f, "/bench/samples", H5P_DEFAULT);
	sp = H5Dget_space(d);
	H5Sget_simple_extent_dims(sp, &n, NULL);
	cr_assert_eq(n, 2 * 3 * 3);
	{
		struct { uint32_t cand, pkt, round, ns; } smp[18];
		hid_t st = H5Tcreate(H5T_COMPOUND, sizeof(smp[0]));

		H5Tinsert(st, "candidate", 0, H5T_NATIVE_UINT32);
		H5Tinsert(st, "packet", 4, H5T_NATIVE_UINT32);
		H5Tinsert(st, "round", 8, H5T_NATIVE_UINT32);
		H5Tinsert(st, "ns", 12, H5T_NATIVE_UINT32);
		cr_assert_geq(H5Dread(d, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, smp), 0);
		for (int i = 0; i < 18; i++) {
			const struct k2_bench_prog *p = k2_bench_prog(b, smp[i].cand);

			cr_assert_eq(smp[i].ns, p->samples[smp[i].pkt * 3 + smp[i].round]);
		}
		H5Tclose(st);
	}
	H5Sclose(sp);
	H5Dclose(d);
	H5Tclose(t);
	H5Tclose(str);
	H5Fclose(f);
	k2_bench_free(b);
	unlink(path);
	rmdir(dir);
	free(s.insns);
	free(l.insns);
	free(bad.insns);
	free(ts);
	free(tl);
}
