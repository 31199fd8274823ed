/*
 * Where a VM's serial console goes: this process's stdio, a file, a unix
 * socket the supervisor connects to, or nowhere. Output comes from the UART
 * (any vCPU thread); input is read on the I/O thread and offered to the UART,
 * which may accept only part of it (FIFO full): the rest is kept and offered
 * again when the UART signals room, so no byte is lost.
 */
#ifndef POLYBOOT_VMM_MACHINE_SERIAL_BACKEND_H
#define POLYBOOT_VMM_MACHINE_SERIAL_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "core/evloop.h"

#define SERIAL_RING_SIZE 65536

struct serial_backend {
	enum { SB_NONE, SB_STDIO, SB_FILE, SB_SOCKET } kind;
	int in_fd, out_fd, listen_fd, kick_fd;
	struct ev_source in_src, listen_src, kick_src;
	bool in_watched;
	struct evloop *loop;
	/* Offers input to the device; returns how many bytes it took. */
	size_t (*rx)(void *ctx, const uint8_t *buf, size_t n);
	void *rx_ctx;
	/* Escape (Ctrl-a x) on an interactive terminal. */
	void (*quit)(void *ctx);
	void *quit_ctx;
	bool tty, escape;
	struct termios saved;
	uint8_t pending[512];
	size_t npending;
	/* Recent output, replayed to a socket client when it connects. */
	uint8_t ring[SERIAL_RING_SIZE];
	size_t ring_head, ring_len;
	pthread_mutex_t lock;
};

/*
 * Opens @spec ("stdio", "file:PATH", "socket:PATH", "none") and registers its
 * fds on @loop. Returns 0, or -errno with a message logged.
 */
int serial_backend_open(struct serial_backend *sb, const char *spec, struct evloop *loop,
			size_t (*rx)(void *, const uint8_t *, size_t), void *rx_ctx,
			void (*quit)(void *), void *quit_ctx);
void serial_backend_close(struct serial_backend *sb);

/* Guest output (the UART's tx callback). Any thread. */
void serial_backend_put(struct serial_backend *sb, uint8_t byte);

/* The device has room again: offer the held-back input. Any thread. */
void serial_backend_kick(struct serial_backend *sb);

/* Checks a spec without opening anything; 0 or -EINVAL. */
int serial_backend_parse(const char *spec);

#endif
