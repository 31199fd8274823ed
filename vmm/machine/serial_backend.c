/*
 * Serial console backends for the UART: stdio (raw terminal with a Ctrl-a x
 * escape), an append-only file, a unix stream socket (one client at a time;
 * the last 64 KiB of output are replayed on connect), or none.
 */
#define LOG_MOD "serial"
#include "machine/serial_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int serial_backend_parse(const char *spec)
{
	if (!spec)
		return -EINVAL;
	if (!strcmp(spec, "stdio") || !strcmp(spec, "none"))
		return 0;
	if ((!strncmp(spec, "file:", 5) && spec[5]) || (!strncmp(spec, "socket:", 7) && spec[7]))
		return 0;
	return -EINVAL;
}

static void ring_add(struct serial_backend *sb, uint8_t b)
{
	sb->ring[(sb->ring_head + sb->ring_len) % SERIAL_RING_SIZE] = b;
	if (sb->ring_len < SERIAL_RING_SIZE)
		sb->ring_len++;
	else
		sb->ring_head = (sb->ring_head + 1) % SERIAL_RING_SIZE;
}

void serial_backend_put(struct serial_backend *sb, uint8_t byte)
{
	pthread_mutex_lock(&sb->lock);
	if (sb->kind == SB_SOCKET)
		ring_add(sb, byte);
	if (sb->out_fd >= 0 && write_full(sb->out_fd, &byte, 1) < 0 && sb->kind == SB_SOCKET) {
		/* Client went away: keep buffering until the next one. */
		close(sb->out_fd);
		sb->out_fd = -1;
	}
	pthread_mutex_unlock(&sb->lock);
}

/* Offers held-back input to the device; (un)watches the input fd. */
static void offer(struct serial_backend *sb)
{
	size_t took;

	if (sb->npending) {
		took = sb->rx(sb->rx_ctx, sb->pending, sb->npending);
		if (took > sb->npending)
			took = sb->npending;
		memmove(sb->pending, sb->pending + took, sb->npending - took);
		sb->npending -= took;
	}
	if (sb->in_fd < 0)
		return;
	if (sb->npending && sb->in_watched) {
		ev_del(sb->loop, &sb->in_src);
		sb->in_watched = false;
	} else if (!sb->npending && !sb->in_watched) {
		if (ev_add(sb->loop, &sb->in_src, EPOLLIN) == 0)
			sb->in_watched = true;
	}
}

static void input_ready(struct ev_source *s, uint32_t events)
{
	struct serial_backend *sb = s->opaque;
	uint8_t buf[256];
	ssize_t n = read(sb->in_fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EOF or error: stop reading; a socket waits for the next client. */
		if (sb->in_watched)
			ev_del(sb->loop, &sb->in_src);
		sb->in_watched = false;
		if (sb->kind == SB_SOCKET) {
			pthread_mutex_lock(&sb->lock);
			if (sb->out_fd == sb->in_fd)
				sb->out_fd = -1;
			pthread_mutex_unlock(&sb->lock);
			close(sb->in_fd);
		}
		sb->in_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		uint8_t c = buf[i];
		if (sb->tty && sb->escape) {
			sb->escape = false;
			if (c == 'x') {
				if (sb->quit)
					sb->quit(sb->quit_ctx);
				continue;
			}
			if (c != 0x01)
				continue;
		} else if (sb->tty && c == 0x01) {
			sb->escape = true;
			continue;
		}
		if (sb->npending < sizeof(sb->pending))
			sb->pending[sb->npending++] = c;
	}
	offer(sb);
}

static void kick_ready(struct ev_source *s, uint32_t events)
{
	struct serial_backend *sb = s->opaque;
	uint64_t v;
	if (read(sb->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("kick: %s", strerror(errno));
	offer(sb);
}

void serial_backend_kick(struct serial_backend *sb)
{
	uint64_t one = 1;
	if (sb->kick_fd >= 0 && write(sb->kick_fd, &one, sizeof(one)) < 0)
		return; /* counter already set */
}

static void listen_ready(struct ev_source *s, uint32_t events)
{
	struct serial_backend *sb = s->opaque;
	int fd = accept4(sb->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	size_t i;

	if (fd < 0)
		return;
	if (sb->in_fd >= 0) {
		/* One console client at a time. */
		static const char busy[] = "polyvmm: console already in use\r\n";
		if (write(fd, busy, sizeof(busy) - 1) < 0) {
			/* nothing to do */
		}
		close(fd);
		return;
	}
	pthread_mutex_lock(&sb->lock);
	/* Replay recent output so the client sees the screen so far. */
	for (i = 0; i < sb->ring_len; i++) {
		uint8_t b = sb->ring[(sb->ring_head + i) % SERIAL_RING_SIZE];
		if (write_full(fd, &b, 1) < 0)
			break;
	}
	sb->out_fd = fd;
	pthread_mutex_unlock(&sb->lock);
	sb->in_fd = fd;
	sb->in_src = (struct ev_source){ fd, input_ready, sb, "serial-client" };
	sb->in_watched = false;
	offer(sb);
}

int serial_backend_open(struct serial_backend *sb, const char *spec, struct evloop *loop,
			size_t (*rx)(void *, const uint8_t *, size_t), void *rx_ctx,
			void (*quit)(void *), void *quit_ctx)
{
	int r;

	memset(sb, 0, sizeof(*sb));
	pthread_mutex_init(&sb->lock, NULL);
	sb->in_fd = sb->out_fd = sb->listen_fd = sb->kick_fd = -1;
	sb->loop = loop;
	sb->rx = rx;
	sb->rx_ctx = rx_ctx;
	sb->quit = quit;
	sb->quit_ctx = quit_ctx;
	if (serial_backend_parse(spec) < 0) {
		log_err("bad --serial '%s' (want stdio, file:PATH, socket:PATH or none)", spec ? spec : "");
		return -EINVAL;
	}
	sb->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sb->kick_fd < 0)
		return -errno;
	sb->kick_src = (struct ev_source){ sb->kick_fd, kick_ready, sb, "serial-kick" };
	if ((r = ev_add(loop, &sb->kick_src, EPOLLIN)) < 0)
		return r;

	if (!strcmp(spec, "none")) {
		sb->kind = SB_NONE;
	} else if (!strcmp(spec, "stdio")) {
		sb->kind = SB_STDIO;
		sb->in_fd = STDIN_FILENO;
		sb->out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &sb->saved) == 0) {
			struct termios raw = sb->saved;
			cfmakeraw(&raw);
			raw.c_oflag |= OPOST | ONLCR;
			if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
				sb->tty = true;
		}
		sb->in_src = (struct ev_source){ sb->in_fd, input_ready, sb, "serial-stdin" };
		/* A regular file or /dev/null on stdin cannot be polled: no input. */
		if (ev_add(loop, &sb->in_src, EPOLLIN) == 0)
			sb->in_watched = true;
		else
			sb->in_fd = -1;
	} else if (!strncmp(spec, "file:", 5)) {
		sb->kind = SB_FILE;
		sb->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (sb->out_fd < 0) {
			r = -errno;
			log_err("serial file %s: %s", spec + 5, strerror(errno));
			return r;
		}
	} else {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		const char *path = spec + 7;
		sb->kind = SB_SOCKET;
		if (strlen(path) >= sizeof(a.sun_path)) {
			log_err("serial socket path too long: %s", path);
			return -ENAMETOOLONG;
		}
		strcpy(a.sun_path, path);
		sb->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (sb->listen_fd < 0)
			return -errno;
		unlink(path);
		if (bind(sb->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(sb->listen_fd, 2) < 0) {
			r = -errno;
			log_err("serial socket %s: %s", path, strerror(errno));
			return r;
		}
		sb->listen_src = (struct ev_source){ sb->listen_fd, listen_ready, sb, "serial-listen" };
		if ((r = ev_add(loop, &sb->listen_src, EPOLLIN)) < 0)
			return r;
	}
	return 0;
}

void serial_backend_close(struct serial_backend *sb)
{
	if (sb->tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &sb->saved);
	sb->tty = false;
	if (sb->kind == SB_FILE && sb->out_fd >= 0)
		close(sb->out_fd);
	if (sb->kind == SB_SOCKET) {
		if (sb->in_fd >= 0)
			close(sb->in_fd);
		if (sb->listen_fd >= 0)
			close(sb->listen_fd);
	}
	if (sb->kick_fd >= 0)
		close(sb->kick_fd);
	sb->in_fd = sb->out_fd = sb->listen_fd = sb->kick_fd = -1;
}
