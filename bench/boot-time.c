/*
 * bench-boot: runs a VMM command, measures the time from process start to a
 * pattern on its serial console, and the VMM's resident memory at that
 * moment without the guest RAM mapping(s).
 *
 *   bench-boot [--pattern TEXT] [--esc-on TEXT] [--timeout S] [--ram-min-mib N]
 *              [--fw-name SUBSTR] [--fw-anon-kib N] -- CMD ARGS...
 *
 * --esc-on: when TEXT appears, type ESC (skips OVMF's 5 s startup.nsh
 * countdown the same way for every VMM). Prints one line:
 *   BOOT ms=<ms> vmm_rss_kib=<rss without mappings >= N MiB> total_rss_kib=<rss>
 *        fw_rss_kib=<part of vmm_rss that is the firmware images>
 * and exits 0, or prints FAIL and exits 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/*
 * Sums Rss over the child's mappings: @total all, @small those smaller than
 * @big_kib (guest RAM is the big one), @fw the firmware images among the
 * small ones (file mappings whose path has @fw_name, and anonymous mappings
 * of exactly @fw_anon_kib).
 */
static void rss(pid_t pid, unsigned long big_kib, const char *fw_name, unsigned long fw_anon_kib,
		unsigned long *small, unsigned long *total, unsigned long *fw)
{
	char path[64], line[512];
	unsigned long map_kib = 0, v;
	int is_fw = 0;
	FILE *f;

	*small = *total = *fw = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			map_kib = (b - a) >> 10;
			/* "start-end perms offset dev inode [path]": anon when inode 0 */
			is_fw = (fw_name && strstr(line, fw_name)) ||
				(fw_anon_kib && map_kib == fw_anon_kib && strstr(line, " 0 ") && !strchr(line, '/'));
		} else if (sscanf(line, "Rss: %lu kB", &v) == 1) {
			*total += v;
			if (map_kib < big_kib) {
				*small += v;
				if (is_fw)
					*fw += v;
			}
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *pattern = "Shell>", *esc_on = NULL;
	double timeout = 300, t0;
	unsigned long big = 64, small, total, fw, fw_anon = 0;
	const char *fw_name = NULL;
	int in[2], out[2], i;
	char buf[1 << 16];
	size_t have = 0;
	int esc_sent = 0;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--pattern") && i + 1 < argc)
			pattern = argv[++i];
		else if (!strcmp(argv[i], "--esc-on") && i + 1 < argc)
			esc_on = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = atof(argv[++i]);
		else if (!strcmp(argv[i], "--ram-min-mib") && i + 1 < argc)
			big = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--fw-name") && i + 1 < argc)
			fw_name = argv[++i];
		else if (!strcmp(argv[i], "--fw-anon-kib") && i + 1 < argc)
			fw_anon = strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "bench-boot: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: bench-boot [options] -- CMD ARGS...\n");
		return 2;
	}
	if (pipe(in) < 0 || pipe(out) < 0)
		return 1;
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execvp(argv[i + 1], argv + i + 1);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	for (;;) {
		fd_set rf;
		struct timeval tv = { 0, 100000 };
		ssize_t n;
		FD_ZERO(&rf);
		FD_SET(out[0], &rf);
		if (now_ms() - t0 > timeout * 1000) {
			printf("FAIL timeout after %.0f s; last output: %.200s\n", timeout,
			       have > 200 ? buf + have - 200 : buf);
			kill(pid, SIGKILL);
			return 1;
		}
		if (select(out[0] + 1, &rf, NULL, NULL, &tv) <= 0)
			continue;
		n = read(out[0], buf + have, sizeof(buf) - 1 - have);
		if (n <= 0) {
			buf[have] = 0;
			printf("FAIL the VMM exited; last output: %.300s\n", have > 300 ? buf + have - 300 : buf);
			return 1;
		}
		have += (size_t)n;
		buf[have] = 0;
		if (esc_on && !esc_sent && strstr(buf, esc_on)) {
			if (write(in[1], "\x1b", 1) == 1)
				esc_sent = 1;
		}
		if (strstr(buf, pattern)) {
			double ms = now_ms() - t0;
			rss(pid, big << 10, fw_name, fw_anon, &small, &total, &fw);
			printf("BOOT ms=%.0f vmm_rss_kib=%lu total_rss_kib=%lu fw_rss_kib=%lu\n", ms, small, total, fw);
			fflush(stdout);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 0;
		}
		if (have > sizeof(buf) / 2) {
			memmove(buf, buf + have - 4096, 4096);
			have = 4096;
		}
	}
}
