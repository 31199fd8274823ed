/*
 * The supervisor: one polyvmm process per running VM.
 *
 * Each VM's serial console is a pair of pipes (polyvmm --serial stdio):
 * what the guest prints lands in a per-VM scrollback ring and its console
 * log; what the user types on the focused console goes to the guest.
 * polyvmm's own messages (stderr) go to the firmware's log, and the last
 * one becomes the exit reason when it fails. A unix socket per VM
 * (polyvmm --control) carries status, the ACPI power button, reset and
 * force stop (sup_control()). The boot manager owns the event loop: it
 * polls sup_vm.out_fd/err_fd and calls sup_output()/sup_errput(), and
 * sup_reaped() when waitpid() reports the process.
 */
#ifndef POLYBOOT_BOOT_SUP_H
#define POLYBOOT_BOOT_SUP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rlog.h"

#define SUP_SCROLLBACK	(64 * 1024)
#define SUP_MAX_ARGS	64

enum sup_state { SUP_STOPPED, SUP_STARTING, SUP_RUNNING, SUP_STOPPING, SUP_FAILED };

struct sup_vm {
	char name[48];
	enum sup_state state;
	pid_t pid;
	int in_fd, out_fd, err_fd;	/* -1 when closed */
	char ctl_path[108];		/* the control socket */
	int exit_status;		/* polyvmm's status, -1 while running */
	char reason[160];		/* why it stopped, in words */
	uint64_t t_start_ms, t_output_ms, t_stop_ms;	/* monotonic; output: first byte */
	uint64_t t_button_ms;		/* when the power button was pressed, 0 never */
	/* scrollback: a ring of the console's last SUP_SCROLLBACK bytes */
	char *sb;
	size_t sb_head, sb_len;
	uint64_t out_bytes;
	/* stderr, split in lines */
	char errbuf[256];
	size_t errlen;
	char last_err[256];
	struct rlog console_log;	/* fd -1 when not logging */
};

/* Prepares @v (no process yet). */
void sup_init(struct sup_vm *v, const char *name);
/* Starts @argv[0] (a path) with stdin/stdout/stderr on new pipes. When
 * @cgroup is not NULL the child joins it (writes itself to cgroup.procs)
 * before exec. 0 or -errno. */
int sup_spawn(struct sup_vm *v, const char *const argv[], const char *cgroup);
/* Console bytes from the guest: kept in the scrollback and the log.
 * Returns bytes read, 0 at EOF (fd closed), -errno. */
ssize_t sup_output(struct sup_vm *v, uint64_t now_ms, char *copy, size_t copylen);
/* polyvmm's stderr: whole lines are passed to the log. 0 at EOF. */
ssize_t sup_errput(struct sup_vm *v);
/* The process ended with wait status @wstatus. */
void sup_reaped(struct sup_vm *v, int wstatus, uint64_t now_ms);
/* The scrollback's last @max bytes in order, into @buf; returns length. */
size_t sup_scrollback(const struct sup_vm *v, char *buf, size_t max);
/* Sends one command line on the control socket @path and reads one reply
 * line (at most @timeout_ms). 0 with the reply ("ok ..." / "err ...")
 * in @reply, or -errno. */
int sup_control(const char *path, const char *cmd, char *reply, size_t len, int timeout_ms);
/* polyvmm's exit status in words. */
const char *sup_status_words(int status);
const char *sup_state_name(enum sup_state s);
/* Frees the scrollback, closes the fds. */
void sup_release(struct sup_vm *v);

#endif
