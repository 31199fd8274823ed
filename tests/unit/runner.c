#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int cur_failed;

void test_register(const char *name, test_fn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		abort();
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	cur_failed = 1;
}

int test_memfd(size_t size, int fill)
{
	int fd = memfd_create("test", MFD_CLOEXEC);
	void *p;
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
		abort();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		abort();
	memset(p, fill, size);
	munmap(p, size);
	return fd;
}

static char tmpdir[256];

static void rm_tmpdir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(tmpdir, sizeof(tmpdir), "%s/polyboot-unit-XXXXXX", t ? t : "/tmp");
		if (!mkdtemp(tmpdir))
			abort();
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

int test_sh(const char *cmd, const char *input, char *out, size_t outlen)
{
	char in_path[300], *full;
	size_t n = 0, k;
	FILE *f;
	int st;

	snprintf(in_path, sizeof(in_path), "%s/test_sh.stdin", test_tmpdir());
	f = fopen(in_path, "w");
	if (!f || (input && fputs(input, f) == EOF) || fclose(f))
		abort();
	if (asprintf(&full, "PATH=\"$PATH:/usr/sbin:/sbin\"; (%s) <'%s' 2>&1", cmd, in_path) < 0)
		abort();
	f = popen(full, "r");
	free(full);
	if (!f)
		abort();
	while (n + 1 < outlen && (k = fread(out + n, 1, outlen - 1 - n, f)) > 0)
		n += k;
	out[n] = 0;
	/* Drain what did not fit, so the command is not killed by SIGPIPE. */
	while (fgetc(f) != EOF)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char test_sh_out[1 << 16];

int test_shf(const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && %s", test_tmpdir(), cmd);
	rc = test_sh(full, NULL, test_sh_out, sizeof(test_sh_out));
	if (rc != 0)
		test_fail(__FILE__, __LINE__, "`%s` exited %d:\n%s", cmd, rc, test_sh_out);
	return rc;
}

bool test_need(const char *tool, const char *package)
{
	char cmd[128], out[256];

	snprintf(cmd, sizeof(cmd), "command -v %s", tool);
	if (test_sh(cmd, NULL, out, sizeof(out)) == 0)
		return true;
	test_fail(__FILE__, __LINE__, "%s is missing: install the Debian package %s", tool, package);
	return false;
}

uint8_t *test_load(const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
		free(buf);
		return NULL;
	}
	*len = got;
	return buf;
}

const char *test_blkid_tag(const char *name, const char *tag)
{
	static char val[256];
	size_t n;

	if (test_shf("blkid -p -o value -s %s %s || true", tag, name))
		return "?";
	n = strnlen(test_sh_out, sizeof(val) - 1);
	memcpy(val, test_sh_out, n);
	val[n] = 0;
	if (n && val[n - 1] == '\n')
		val[n - 1] = 0;
	return val;
}

int main(int argc, char **argv)
{
	const char *prog = strrchr(argv[0], '/');
	const char *only = argc > 1 ? argv[1] : NULL;
	int failed = 0;

	prog = prog ? prog + 1 : argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (only && strcmp(only, tests[i].name) != 0)
			continue;
		cur_failed = 0;
		tests[i].fn();
		printf("%s %s:%s\n", cur_failed ? "FAIL" : "PASS", prog, tests[i].name);
		failed += cur_failed;
	}
	return failed ? 1 : 0;
}
