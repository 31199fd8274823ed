/*
 * Minimal unit-test framework for polyboot's C code (host build, ASan+UBSan).
 *
 *   TEST(uart_scratch) { ... CHECK(x == 1); CHECK_EQ(a, b); }
 *
 * Each test_*.c file becomes one binary (linked with runner.c); every TEST
 * prints "PASS <file>:<name>" or "FAIL <file>:<name>" and failed checks print
 * their file:line and values. tests/run.py counts these lines.
 */
#ifndef POLYBOOT_TESTS_UNIT_TEST_H
#define POLYBOOT_TESTS_UNIT_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(name)                                                        \
	static void test_##name(void);                                    \
	__attribute__((constructor)) static void test_reg_##name(void)    \
	{                                                                 \
		test_register(#name, test_##name);                        \
	}                                                                 \
	static void test_##name(void)

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond))                                              \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

#define CHECK_EQ(a, b)                                                    \
	do {                                                              \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);        \
		if (va_ != vb_)                                           \
			test_fail(__FILE__, __LINE__, "%s == %s: %#" PRIx64 " != %#" PRIx64, \
				  #a, #b, va_, vb_);                      \
	} while (0)

#define CHECK_STR(a, b)                                                   \
	do {                                                              \
		const char *sa_ = (a), *sb_ = (b);                        \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                \
			test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
				  #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
	} while (0)

#define CHECK_MEM(a, b, n)                                                \
	do {                                                              \
		if (memcmp((a), (b), (n)) != 0)                           \
			test_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n); \
	} while (0)

/* Creates a memfd of @size bytes filled with @fill, for file-backed devices. */
int test_memfd(size_t size, int fill);
/* A fresh empty directory under $TMPDIR, removed at exit; the path is static. */
const char *test_tmpdir(void);
/*
 * Runs @cmd with sh (/usr/sbin and /sbin added to PATH, for tools such as
 * sfdisk), @input (or nothing) on its stdin and its stdout and stderr
 * together in @out (NUL-terminated, cut to fit). Returns the exit status,
 * or -1 if it did not exit normally.
 */
int test_sh(const char *cmd, const char *input, char *out, size_t outlen);

/* The output of the last test_shf(). */
extern char test_sh_out[1 << 16];
/*
 * Runs the printf-formatted command in test_tmpdir() (as test_sh, no
 * input), its output in test_sh_out; a non-zero exit fails the test with
 * the command and its output. Returns the exit status.
 */
int test_shf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Is @tool on the PATH? If not, fails the test naming the Debian @package. */
bool test_need(const char *tool, const char *package);
/* The file @name of test_tmpdir() in a malloc'd buffer (one spare byte at
 * the end), its size in @len; NULL (and a failed test) if unreadable. */
uint8_t *test_load(const char *name, size_t *len);
/* `blkid -p`'s value of @tag for the file @name of test_tmpdir() ("" when
 * it has none; valid until the next call). */
const char *test_blkid_tag(const char *name, const char *tag);

#endif
