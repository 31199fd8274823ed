#!/usr/bin/env bash
# polyboot build driver. One function per stage; every stage can be re-run and
# skips its work when its inputs did not change.
#
#   ./build.sh            deps + image (out/polyboot.efi, out/esp.img)
#   ./build.sh run        boot out/esp.img in QEMU (OVMF firmware, nested SVM)
#   ./build.sh test       unit + end-to-end tests, ends with "N passed, N failed"
#   ./build.sh help       every stage
#
# Caches (kernel tree, QEMU build) live in $POLYBOOT_CACHE (default
# ~/.cache/polyboot), keyed by their inputs.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$TOP/out
CACHE=${POLYBOOT_CACHE:-$HOME/.cache/polyboot}
JOBS=${JOBS:-$(nproc)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 1700000000)}

LINUX_PKG=linux-source-6.12
QEMU_VERSION=10.0.2
QEMU_DEBVER=1:10.0.2+ds-2+deb13u1~bpo12+1
QEMU_ORIG=qemu_10.0.2+ds.orig.tar.xz
QEMU_ORIG_SHA256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1

# Libraries linked into our static musl programs, pinned by version and sha256.
# cJSON is built from Debian's source (with Debian's patches applied by
# dpkg-source). inih's source tarball is not served by the mirror (404 for
# libinih_55.orig.tar.gz), so we link the static library from libinih-dev,
# which links cleanly with musl (for the boot manager's config file parser).
CJSON_VER=1.7.15-1+deb12u4
CJSON_SHA256="5308fd4bd90cef7aa060558514de6a1a4a0819974a26e6ed13973c5f624c24b2 cjson_1.7.15.orig.tar.gz
afd19a970966cf534ff1e9ec077d710a5e7e78eb4ec9b499c8bdc32e55da12cb cjson_1.7.15-1+deb12u4.debian.tar.xz"
INIH_VER=55-1
INIH_DEB=libinih-dev_55-1_amd64.deb
INIH_SHA256=0355b0799b508b0973bb8e48923be65f905bdc2c48f20db02455f1c1fa13253d

# Debian packages, from bookworm unless listed in DEPS_BPO (bookworm-backports).
DEPS=(
	build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils zstd file
	"$LINUX_PKG" busybox-static musl-tools ovmf
	mtools dosfstools fdisk gdisk e2fsprogs python3
	ninja-build libglib2.0-dev libpixman-1-dev pkg-config python3-pycotap dpkg-dev
	acpica-tools clang libclang-rt-14-dev
	grub-efi-amd64-bin grub-pc-bin systemd-boot-efi ntfs-3g xorriso
	btrfs-progs xfsprogs shim-signed shim-helpers-amd64-signed shim-unsigned qemu-utils
	libfaketime syslinux-common exfatprogs cryptsetup-bin
)
DEPS_BPO=(meson seabios qemu-system-data qemu-system-x86)

log() { printf '\033[1m[build]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[build] error:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs one stage and prints its wall time, so drift is visible in CI logs.
timed() {
	local name=$1 t0=$SECONDS
	shift
	"$@"
	log "stage $name: $((SECONDS - t0)) s"
}

# sha256 of the named files' contents and names (cache keys).
hash_files() { sha256sum "$@" | sha256sum | cut -c1-16; }

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (apt-get); run as root or install: $2"; }

# Is there a deb-src source for SUITE (one-line or deb822 format)?
has_deb_src() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && grep -qE "^deb-src .* $1( |$)" "$f" && return 0
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# a stanza with deb-src among its Types and SUITE among its Suites
		awk -v s="$1" 'BEGIN{RS=""} /Types:[^\n]*deb-src/ { if (match($0, "Suites:[^\n]*")) { n=split(substr($0,RSTART+7,RLENGTH-7), a, " "); for(i=1;i<=n;i++) if (a[i]==s) f=1 } } END{exit !f}' "$f" && return 0
	done
	return 1
}

stage_deps() {
	local missing=() p
	for p in "${DEPS[@]}" "${DEPS_BPO[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
	done
	# seabios must come from backports (1.16.3): bookworm's 1.16.2 differs from the manifest.
	if [ ${#missing[@]} = 0 ] && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' seabios)" ge 1.16.3 &&
		has_deb_src bookworm && has_deb_src bookworm-backports; then
		return 0
	fi
	need_root deps "${missing[*]}"
	log "installing: ${missing[*]:-seabios (backports)}"
	# bookworm-backports (deb + deb-src) and deb-src for bookworm itself
	# (thirdparty fetches Debian's cJSON source with apt-get source).
	if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat >/etc/apt/sources.list.d/polyboot-backports.sources <<-'EOF'
		Types: deb deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm-backports
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	if ! has_deb_src bookworm; then
		cat >/etc/apt/sources.list.d/polyboot-src.sources <<-'EOF'
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
	fi
	has_deb_src bookworm-backports || die "no deb-src source for bookworm-backports in /etc/apt"
	has_deb_src bookworm || die "no deb-src source for bookworm in /etc/apt"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${DEPS[@]}"
	apt-get install -y -q --no-install-recommends -t bookworm-backports "${DEPS_BPO[@]}"
}

# --- firmware images for the VMs ---------------------------------------------
# ovmf-images/manifest pins the Debian package versions and sha256 of each file.
stage_ovmf() {
	local dst=$OUT/firmware name pkg ver sha src have_ver
	mkdir -p "$dst"
	while read -r name pkg ver sha src; do
		case "$name" in '' | \#*) continue ;; esac
		have_ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
		[ "$have_ver" = "$ver" ] ||
			die "ovmf-images/manifest wants $pkg $ver for $name, installed: ${have_ver:-none} (run ./build.sh deps)"
		echo "$sha  $src" | sha256sum -c --quiet - ||
			die "$src does not match the sha256 in ovmf-images/manifest"
		cmp -s "$src" "$dst/$name" || cp "$src" "$dst/$name"
	done <"$TOP/ovmf-images/manifest"
}

# --- third-party libraries ----------------------------------------------------
stage_thirdparty() {
	local dl=$CACHE/downloads tp=$OUT/thirdparty
	local stamp="$CJSON_VER $INIH_VER"
	[ "$(cat "$tp/.stamp" 2>/dev/null)" = "$stamp" ] && return 0
	mkdir -p "$dl"
	if ! (cd "$dl" && echo "$CJSON_SHA256" | awk '{print $1 "  " $2}' | sha256sum -c --quiet - >/dev/null 2>&1); then
		(cd "$dl" && apt-get source --download-only "cjson=$CJSON_VER" >/dev/null 2>&1) || true
		(cd "$dl" && echo "$CJSON_SHA256" | awk '{print $1 "  " $2}' | sha256sum -c --quiet -) ||
			die "cjson $CJSON_VER source missing or sha256 mismatch in $dl (needs a deb-src line for bookworm)"
	fi
	if ! (cd "$dl" && echo "$INIH_SHA256  $INIH_DEB" | sha256sum -c --quiet - >/dev/null 2>&1); then
		(cd "$dl" && apt-get download "libinih-dev=$INIH_VER" >/dev/null 2>&1) || true
		(cd "$dl" && echo "$INIH_SHA256  $INIH_DEB" | sha256sum -c --quiet -) ||
			die "$INIH_DEB missing or sha256 mismatch in $dl"
	fi
	rm -rf "$tp"
	mkdir -p "$tp/cjson" "$tp/inih"
	local w
	w=$(mktemp -d)
	(cd "$w" && dpkg-source -x "$dl/cjson_${CJSON_VER}.dsc" src >/dev/null 2>&1) || die "dpkg-source -x cjson failed"
	cp "$w/src/cJSON.c" "$w/src/cJSON.h" "$w/src/LICENSE" "$tp/cjson/"
	dpkg-deb -x "$dl/$INIH_DEB" "$w/inih"
	cp "$w/inih/usr/include/ini.h" "$w/inih/usr/lib/x86_64-linux-gnu/libinih.a" "$tp/inih/"
	rm -rf "$w"
	echo "$stamp" >"$tp/.stamp"
}

# --- our static musl programs --------------------------------------------------
stage_programs() {
	make -s -C "$TOP" -j"$JOBS" programs OUT="$OUT"
}

# --- initramfs -----------------------------------------------------------------
polyboot_version() {
	local v
	v=$(cat "$TOP/VERSION")
	if git -C "$TOP" rev-parse --short HEAD >/dev/null 2>&1; then
		v="$v+g$(git -C "$TOP" rev-parse --short HEAD)"
		git -C "$TOP" diff --quiet HEAD 2>/dev/null || v="$v-dirty"
	fi
	echo "$v"
}

stage_initramfs() {
	local root=$OUT/initramfs.d
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt,root,usr/share/polyboot/firmware}
	cp -a "$TOP"/initramfs/rootfs/. "$root"/
	cp /bin/busybox "$root/bin/busybox"
	local a
	for a in $(/bin/busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
	install -m 0755 "$OUT"/bin/polyboot "$OUT"/bin/polyvmm "$root/bin/"
	ln -s polyvmm "$root/bin/polyvmm-vars"
	cp "$OUT"/firmware/* "$root/usr/share/polyboot/firmware/"
	polyboot_version >"$root/etc/polyboot-version"
	python3 "$TOP/initramfs/mkcpio.py" "$root" "$TOP/initramfs/devnodes" "$OUT/initramfs.cpio.new"
	if cmp -s "$OUT/initramfs.cpio.new" "$OUT/initramfs.cpio"; then
		rm "$OUT/initramfs.cpio.new"
	else
		mv "$OUT/initramfs.cpio.new" "$OUT/initramfs.cpio"
	fi
}

# --- kernel --------------------------------------------------------------------
linux_src() {
	local ver
	ver=$(dpkg-query -W -f='${Version}' "$LINUX_PKG")
	local src=$CACHE/linux-${ver//[~:]/_}
	if [ ! -f "$src/.polyboot-unpacked" ]; then
		log "unpacking $LINUX_PKG $ver into $src"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -C "$src.tmp" -xf "/usr/src/$LINUX_PKG.tar.xz" --strip-components=1
		mv "$src.tmp" "$src"
		touch "$src/.polyboot-unpacked"
	fi
	echo "$src"
}

# Every CONFIG_X=y / "# CONFIG_X is not set" line of every fragment must
# survive olddefconfig; a dependency we missed would otherwise silently drop it.
check_kconfig() {
	local cfg=$1 frag line sym bad=0
	for frag in "$TOP"/kernel-config/*.config; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_INITRAMFS_SOURCE=*) ;; # set by stage_kernel, checked there
			CONFIG_*=*)
				grep -qxF "$line" "$cfg" || { log "kernel config: $(basename "$frag"): '$line' did not survive (got: $(grep "^${line%%=*}=" "$cfg" || echo unset))"; bad=1; } ;;
			"# CONFIG_"*" is not set")
				sym=${line#\# }; sym=${sym%% *}
				grep -q "^$sym=" "$cfg" && { log "kernel config: $(basename "$frag"): $sym must be unset, got $(grep "^$sym=" "$cfg")"; bad=1; } ;;
			esac
		done <"$frag"
	done
	[ $bad = 0 ] || die "required kernel options missing (see above)"
}

stage_kernel() {
	local src key kobj
	src=$(linux_src)
	key=$(cd "$TOP" && hash_files kernel-config/*.config)-$(basename "$src")
	kobj=$CACHE/kernel-$key
	mkdir -p "$kobj"
	exec 9>"$kobj/.lock"
	flock 9
	if [ ! -f "$kobj/.config-checked" ]; then
		log "kernel: merging kernel-config/*.config ($key)"
		(cd "$src" && ./scripts/kconfig/merge_config.sh -n -O "$kobj" "$TOP"/kernel-config/*.config >"$kobj/merge.log" 2>&1) ||
			{ cat "$kobj/merge.log"; die "merge_config.sh failed"; }
		sed -i "s|^CONFIG_INITRAMFS_SOURCE=.*|CONFIG_INITRAMFS_SOURCE=\"$kobj/polyboot-initramfs.cpio\"|" "$kobj/.config"
		make -s -C "$src" O="$kobj" olddefconfig
		grep -q "^CONFIG_INITRAMFS_SOURCE=\"$kobj/polyboot-initramfs.cpio\"" "$kobj/.config" || die "INITRAMFS_SOURCE lost"
		check_kconfig "$kobj/.config"
		touch "$kobj/.config-checked"
	fi
	cmp -s "$OUT/initramfs.cpio" "$kobj/polyboot-initramfs.cpio" || cp "$OUT/initramfs.cpio" "$kobj/polyboot-initramfs.cpio"
	local stamp
	stamp=$(hash_files "$kobj/polyboot-initramfs.cpio" "$kobj/.config")
	if [ -f "$kobj/arch/x86/boot/bzImage" ] && [ "$(cat "$kobj/.built" 2>/dev/null)" = "$stamp" ]; then
		log "kernel: up to date ($kobj)"
	else
		local t0=$SECONDS full=0
		[ -f "$kobj/vmlinux" ] || full=1
		[ $full = 0 ] || log "kernel: full build with -j$JOBS (about 10-20 min on 2 cores); progress every 200 objects"
		make -C "$src" O="$kobj" -j"$JOBS" KBUILD_BUILD_TIMESTAMP="@$SOURCE_DATE_EPOCH" \
			KBUILD_BUILD_USER=polyboot KBUILD_BUILD_HOST=polyboot bzImage 2>&1 |
			awk '/^  [A-Z0-9_]+ / { if (++n % 500 == 0) { printf "[build] kernel: %d steps\n", n; fflush() } next }
			     { print; fflush() }'
		[ "${PIPESTATUS[0]}" = 0 ] || die "kernel build failed"
		echo "$stamp" >"$kobj/.built"
		echo "$((SECONDS - t0))" >"$kobj/.build-seconds"
		[ $full = 0 ] || echo "$((SECONDS - t0)) s with -j$JOBS" >"$kobj/.full-build"
	fi
	cp "$kobj/arch/x86/boot/bzImage" "$OUT/polyboot.efi"
	echo "$kobj" >"$OUT/kernel-build-dir"
	exec 9>&-
}

# --- ESP image -----------------------------------------------------------------
# A GPT disk with one FAT32 ESP, made without mounting (sfdisk + mtools).
ESP_MIB=128
stage_esp() {
	local img=$OUT/esp.img part=$OUT/esp-part.img start=2048
	local sectors=$((ESP_MIB * 2048))
	rm -f "$img" "$part"
	truncate -s $(((ESP_MIB + 2) * 1024 * 1024)) "$img"
	sfdisk -q "$img" <<-EOF
	label: gpt
	label-id: 5F0B0B7A-9E3C-4B8E-8A61-706F6C79626F
	start=$start, size=$sectors, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=6C6F6F70-7962-4F6F-8000-000000000001, name="EFI System"
	EOF
	truncate -s $((sectors * 512)) "$part"
	mkfs.vfat -F 32 -n POLYBOOT -i 504f4c59 "$part" >/dev/null
	export MTOOLS_SKIP_CHECK=1
	mmd -i "$part" ::/EFI ::/EFI/BOOT ::/EFI/polyboot ::/EFI/polyboot/vars ::/EFI/polyboot/logs
	mcopy -i "$part" "$OUT/polyboot.efi" ::/EFI/BOOT/BOOTX64.EFI
	dd if="$part" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none
	rm -f "$part"
}

report_sizes() {
	local kobj k i e
	kobj=$(cat "$OUT/kernel-build-dir")
	i=$(stat -c %s "$OUT/initramfs.cpio")
	e=$(stat -c %s "$OUT/polyboot.efi")
	# The kernel alone: the compressed image minus what the initramfs adds.
	k=$(zstd -q -19 -c "$OUT/initramfs.cpio" | wc -c)
	{
		printf 'polyboot %s\n' "$(polyboot_version)"
		printf 'initramfs (uncompressed cpio): %8.2f MiB\n' "$(echo "$i / 1048576" | bc -l)"
		printf 'initramfs (zstd, approx):      %8.2f MiB\n' "$(echo "$k / 1048576" | bc -l)"
		printf 'kernel only (approx):          %8.2f MiB\n' "$(echo "($e - $k) / 1048576" | bc -l)"
		printf 'polyboot.efi (kernel+initramfs): %6.2f MiB (goal <= 12 MiB)\n' "$(echo "$e / 1048576" | bc -l)"
		if [ -f "$kobj/.full-build" ]; then
			printf 'kernel full build (from scratch): %s\n' "$(cat "$kobj/.full-build")"
		fi
	} | tee "$OUT/sizes.txt" >&2
	[ "$(head -c 2 "$OUT/polyboot.efi")" = MZ ] || die "polyboot.efi does not start with MZ"
}

stage_image() {
	mkdir -p "$OUT"
	timed ovmf stage_ovmf
	timed thirdparty stage_thirdparty
	timed programs stage_programs
	timed initramfs stage_initramfs
	timed kernel stage_kernel
	timed esp stage_esp
	report_sizes
}

# --- QEMU for the nested harness (L0) ------------------------------------------
# Debian's QEMU 10.0.2 orig source plus tests/harness/qemu-patches/*.patch.
qemu_dir() {
	local key
	key=$(cd "$TOP" && hash_files tests/harness/qemu-patches/*.patch)
	echo "$CACHE/qemu-$QEMU_VERSION-$key"
}

stage_qemu() {
	local dir
	dir=$(qemu_dir)
	[ -x "$dir/bin/qemu-system-x86_64" ] && return 0
	mkdir -p "$CACHE"
	exec 8>"$CACHE/.qemu.lock"
	flock 8
	[ -x "$dir/bin/qemu-system-x86_64" ] && return 0
	local dl=$CACHE/qemu-src
	mkdir -p "$dl"
	if [ ! -f "$dl/$QEMU_ORIG" ]; then
		log "qemu: fetching Debian source $QEMU_DEBVER"
		# The Debian diff tarball of this backport is not served; the orig tarball is,
		# and it is all we need (we verify it below).
		(cd "$dl" && apt-get source --download-only "qemu=$QEMU_DEBVER" >apt-source.log 2>&1) || true
	fi
	echo "$QEMU_ORIG_SHA256  $dl/$QEMU_ORIG" | sha256sum -c --quiet - || die "qemu source missing or sha256 mismatch ($dl/$QEMU_ORIG)"
	local b=$dir.build
	rm -rf "$b"
	mkdir -p "$b"
	tar -C "$b" -xf "$dl/$QEMU_ORIG"
	local s=$b/qemu-$QEMU_VERSION p
	for p in "$TOP"/tests/harness/qemu-patches/*.patch; do
		patch -s -d "$s" -p1 <"$p" || die "qemu patch $p does not apply"
	done
	log "qemu: configure + build (about 9 min on 2 cores)"
	(cd "$s" && ./configure --prefix="$dir" --python=/usr/bin/python3 --target-list=x86_64-softmmu \
		--disable-download --disable-docs --disable-install-blobs --disable-werror \
		--disable-gtk --disable-sdl --disable-vnc --disable-opengl --disable-spice --disable-xen \
		--disable-libusb --disable-curl --disable-capstone --disable-gio --disable-slirp \
		--disable-tools --disable-guest-agent >"$b/configure.log" 2>&1) ||
		{ tail -30 "$b/configure.log"; die "qemu configure failed"; }
	(cd "$s/build" && ninja -j"$JOBS" 2>&1 | awk '{ if (++n % 500 == 0) { printf "[build] qemu: %d steps\n", n; fflush() } } END { }') ||
		die "qemu build failed"
	[ -x "$s/build/qemu-system-x86_64" ] || die "qemu build produced no binary"
	mkdir -p "$dir/bin"
	cp "$s/build/qemu-system-x86_64" "$dir/bin/"
	rm -rf "$b"
	log "qemu: installed $dir/bin/qemu-system-x86_64"
}

# --- run / test ----------------------------------------------------------------
stage_run() {
	stage_deps
	stage_image
	timed qemu stage_qemu
	exec python3 "$TOP/tests/harness/run_demo.py" --qemu "$(qemu_dir)/bin/qemu-system-x86_64" --out "$OUT" "$@"
}

stage_test() {
	local t0=$SECONDS
	timed deps stage_deps
	stage_image
	timed qemu stage_qemu
	POLYBOOT_QEMU="$(qemu_dir)/bin/qemu-system-x86_64" POLYBOOT_OUT=$OUT \
		python3 "$TOP/tests/run.py" "$@"
	local rc=$?
	log "test: total $((SECONDS - t0)) s"
	return $rc
}

# polyvmm vs QEMU inside the same L1; not part of `test`.
#   ./build.sh bench [boot|disk] [options of bench/boot.py or bench/disk.py]
# With no selector both run with their defaults.
stage_bench() {
	local which=${1:-all} b
	stage_deps
	stage_image
	timed qemu stage_qemu
	make -s -C "$TOP" bench OUT="$OUT"
	case $which in boot | disk) shift ;; all) ;; *) die "bench: boot or disk, not '$which'" ;; esac
	for b in boot disk; do
		[ "$which" = all ] || [ "$which" = $b ] || continue
		POLYBOOT_QEMU="$(qemu_dir)/bin/qemu-system-x86_64" POLYBOOT_OUT=$OUT \
			python3 "$TOP/bench/$b.py" "$@"
	done
}

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	echo "stages: deps image ovmf thirdparty programs initramfs kernel esp qemu run test bench unit clean"
}

main() {
	local cmd=${1:-all}
	[ $# -gt 0 ] && shift
	case "$cmd" in
	all) timed deps stage_deps; stage_image ;;
	deps) stage_deps ;;
	image) stage_image ;;
	ovmf | thirdparty | programs | initramfs | kernel | esp | qemu) mkdir -p "$OUT"; timed "$cmd" "stage_$cmd" ;;
	run) stage_run "$@" ;;
	test) stage_test "$@" ;;
	bench) stage_bench "$@" ;;
	unit) stage_thirdparty; make -s -C "$TOP" -j"$JOBS" unit OUT="$OUT" ;;
	clean) rm -rf "$OUT" ;;
	help | -h | --help) usage ;;
	*) usage; die "unknown stage '$cmd'" ;;
	esac
}

main "$@"
