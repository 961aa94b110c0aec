/* tests/fuzz/replay.c: runs a fuzz target's entry on its saved crashers and seeds (under ASan in make test). */
#include <dirent.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int replay_dir(const char *dir)
{
	struct dirent *d;
	char path[4096];
	DIR *dp = opendir(dir);
	int n = 0;

	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (replay_file(path) == 0)
			n++;
	}
	closedir(dp);
	return n;
}

int main(int argc, char **argv)
{
	char dir[4096], *name = basename(argv[0]);
	int n = 0;

	(void)argc;
	snprintf(dir, sizeof(dir), "tests/fuzz/crashers/%s", name);
	n += replay_dir(dir);
	snprintf(dir, sizeof(dir), "tests/fuzz/seeds/%s", name);
	n += replay_dir(dir);
	printf("fuzz replay %s: %d inputs, no crash\n", name, n);
	return 0;
}
