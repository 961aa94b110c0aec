/* tests/unit/config.c: INI configuration: defaults, files, errors with file and line, overrides. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "search/k2_config.h"

static char *write_tmp(const char *text)
{
	static char path[64]; /* one file per test process */
	int fd;

	strcpy(path, "/tmp/k2cfgXXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(config, shipped_files_equal_the_builtin_defaults)
{
	struct k2_config a, b;
	struct k2_err e;

	k2_config_defaults(&a);
	memset(&b, 0x5a, sizeof(b));
	k2_config_defaults(&b);
	cr_assert_eq(k2_config_load(&b, "configs/default.ini", &e), 0, "%s", e.msg);
	cr_assert_eq(k2_config_load(&b, "configs/cluster.ini", &e), 0, "%s", e.msg);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_expect_eq(a.search.chains, 4);
	cr_expect_eq(a.input[K2_HOOK_XDP].ctx_size, 24);
	cr_expect_eq(a.input[K2_HOOK_XDP].live_regs, (1u << 1) | (1u << 10));
}

Test(config, print_reads_back)
{
	struct k2_config a, b;
	struct k2_err e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	k2_config_defaults(&a);
	cr_assert_eq(k2_config_set_arg(&a, "search.beta_min=0.125", &e), 0, "%s", e.msg);
	cr_assert_eq(k2_config_set_arg(&a, "search.objective=latency", &e), 0, "%s", e.msg);
	cr_assert_eq(k2_config_set_arg(&a, "bench.ifname=eth7", &e), 0, "%s", e.msg);
	cr_assert_eq(k2_config_set_arg(&a, "input.tc.live_regs=r1 r6,r10", &e), 0, "%s", e.msg);
	k2_config_print(f, &a);
	fclose(f);
	k2_config_defaults(&b);
	cr_assert_eq(k2_config_load(&b, write_tmp(buf), &e), 0, "%s", e.msg);
	cr_expect_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_expect_eq(b.input[K2_HOOK_TC].live_regs, (1u << 1) | (1u << 6) | (1u << 10));
	free(buf);
}

Test(config, errors_name_file_and_line)
{
	struct k2_config c;
	struct k2_err e;
	char *p;

	k2_config_defaults(&c);
	p = write_tmp("[search]\nchains = 4\n\nbogus = 1\n");
	cr_expect_lt(k2_config_load(&c, p, &e), 0);
	cr_expect(strstr(e.msg, ":4: unknown key 'bogus' in [search]"), "%s", e.msg);

	p = write_tmp("[search]\nchains = lots\n");
	cr_expect_lt(k2_config_load(&c, p, &e), 0);
	cr_expect(strstr(e.msg, ":2: search.chains: bad value 'lots'"), "%s", e.msg);

	p = write_tmp("[search]\nmcpu = 9\n");
	cr_expect_lt(k2_config_load(&c, p, &e), 0);
	cr_expect(strstr(e.msg, ":2: search.mcpu: 9 is out of range"), "%s", e.msg);

	p = write_tmp("[nope]\nx = 1\n");
	cr_expect_lt(k2_config_load(&c, p, &e), 0);
	cr_expect(strstr(e.msg, ":2: unknown section [nope]"), "%s", e.msg);

	cr_expect_lt(k2_config_load(&c, "/nonexistent/k2.ini", &e), 0);
	cr_expect(strstr(e.msg, "/nonexistent/k2.ini: No such file"), "%s", e.msg);

	cr_expect_lt(k2_config_set_arg(&c, "search.nothing=1", &e), 0);
	cr_expect(strstr(e.msg, "unknown configuration key 'search.nothing'"), "%s", e.msg);
	cr_expect_lt(k2_config_set_arg(&c, "smt.cache=maybe", &e), 0);
	cr_expect_lt(k2_config_set_arg(&c, "input.xdp.live_regs=r11", &e), 0);
	cr_expect_lt(k2_config_set_arg(&c, "search.chains=2.5", &e), 0);
}
