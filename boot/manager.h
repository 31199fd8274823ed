/*
 * The boot manager: what `polyboot` does when /init starts it.
 *
 *   scan the disks (discovery, in a child process with its own mount
 *   namespace) -> mount the ESP polyboot booted from, read-write -> read
 *   \EFI\polyboot\polyboot.conf -> plan -> start the default set (mode
 *   auto) or show the menu (with a countdown) -> supervise the VMs ->
 *   when the last one stops, power off (or show the menu again).
 *
 * The menu is drawn on the serial console and on the framebuffer console
 * at once (tui.h); Ctrl-] switches the focused console between the menu
 * and each VM's serial console. Logs go to \EFI\polyboot\logs\ (rlog.h).
 * The exit status tells /init what to do next (MGR_EXIT_*).
 */
#ifndef POLYBOOT_BOOT_MANAGER_H
#define POLYBOOT_BOOT_MANAGER_H

enum {
	MGR_EXIT_POWEROFF = 0,
	MGR_EXIT_ERROR = 1,
	MGR_EXIT_USAGE = 2,
	MGR_EXIT_SHELL = 3,
	MGR_EXIT_REBOOT = 4,
};

/* `polyboot menu [options]`; see manager.c's usage(). */
int manager_main(int argc, char **argv);

#endif
