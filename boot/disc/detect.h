/*
 * The OS detectors of discovery (scan.h): what each kind of install leaves
 * on disk, and how it becomes an inventory entry.
 *
 *  UEFI, per FAT filesystem with an \EFI directory (an ESP, or a FAT
 *  partition that has one):
 *    \EFI\Microsoft\Boot\bootmgfw.efi      Windows, with the NTFS,
 *                                          MSR and recovery partitions of
 *                                          its disk
 *    \EFI\<d>\shimx64.efi, grubx64.efi     GRUB, its grub.cfg evaluated
 *                                          (grubcfg.h), BLS when blscfg
 *    \EFI\systemd\systemd-bootx64.efi      systemd-boot, its
 *                                          \loader\entries and UKIs
 *    \EFI\Linux\*.efi                      UKIs (entries of systemd-boot
 *                                          when it is there, else OSes)
 *    \EFI\<d>\*.efi                        other loaders
 *    \EFI\BOOT\BOOTX64.EFI                 the removable-media fallback:
 *                                          marks the loader it copies, or
 *                                          is an OS of its own
 *  Apple HFS+/APFS partitions: macOS, listed and never offered.
 *  Legacy BIOS, per disk: the MBR boot code (bootcode.h) and what it
 *  loads (GRUB 2 core.img and /boot/grub/grub.cfg, GRUB legacy menu.lst,
 *  Windows bootmgr on the active NTFS partition, syslinux, an active
 *  partition's boot sector).
 *  Image files (.img .raw .vhd .vhdx .qcow2 .iso) on readable partitions,
 *  three directories deep at most (imgprobe.h).
 * Then each OS is matched to the host's Boot#### variables.
 *
 * For Linux, the root= of the default entry names the root partition; its
 * /etc/os-release gives the label and its /etc/fstab the other partitions
 * the OS mounts (boot, ESP, home, data, swap).
 */
#ifndef POLYBOOT_BOOT_DISC_DETECT_H
#define POLYBOOT_BOOT_DISC_DETECT_H

struct scan;
struct sc_os;
struct efivars_opt;

/* Runs every detector over a scan whose disks have been read. */
int detect_all(struct scan *s);

/* The OS a boot option starts (its HD() partition and file), or NULL. */
struct sc_os *detect_bootopt_os(struct scan *s, const struct efivars_opt *o);

#endif
