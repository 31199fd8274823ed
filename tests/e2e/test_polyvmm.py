"""polyvmm inside the firmware (L1): Debian's OVMF to the UEFI shell with 1
and 4 vCPUs, power-off and reset paths and their exit statuses, UEFI
variables that persist across restarts, and a variable store that stays
valid when polyvmm is killed with SIGKILL at random moments (50 times),
and SIGTERM stopping the guest with a trace of where its vCPU was.
"""
import os
import re

from harness import make_testpack

CHECKS = ["shell-1cpu", "poweroff-status", "shell-4cpu", "warm-reset-restarts",
          "reboot-exit-status", "vars-persist-shell", "vars-persist-file",
          "sigkill-store-valid", "sigkill-store-changed", "sigkill-store-boots", "sigterm-vcpu-state"]

SCRIPT = r"""#!/bin/sh
. ./lib.sh
GUID=12345678-1234-1234-1234-123456789abc
FWARGS="--firmware $FW/OVMF_CODE_4M.fd"

# 1 vCPU: shell, then reset -s -> exit status 0 (power-off).
cp $FW/OVMF_VARS_4M.fd /tmp/v1.fd
vm_start vm $FWARGS --vars /tmp/v1.fd --cpus 1 --memory 256M
vm_expect vm 'Shell>' 120; check shell-1cpu $? "after $(vm_elapsed vm)s"
vm_send vm 'reset -s\r'
rc=$(vm_wait vm 60); [ "$rc" = 0 ]; check poweroff-status $? "status $rc"

# 4 vCPUs: shell, warm reset restarts the guest in the same process.
cp $FW/OVMF_VARS_4M.fd /tmp/v4.fd
vm_start vm $FWARGS --vars /tmp/v4.fd --cpus 4 --memory 512M
vm_expect vm 'Shell>' 180; check shell-4cpu $? "after $(vm_elapsed vm)s"
vm_send vm 'reset\r'
vm_expect_n vm 'Shell>' 2 180
n=$(vm_count vm 'UEFI Interactive Shell')
grep -q 'guest reset' /tmp/vm.log; reset_logged=$?
vm_send vm 'reset -s\r'
rc=$(vm_wait vm 60)
[ "$n" = 2 ] && [ "$rc" = 0 ] && [ $reset_logged = 0 ]; check warm-reset-restarts $? "shell banners $n, status $rc"

# --reboot=exit: a guest reset ends polyvmm with status 3.
vm_start vm $FWARGS --vars /tmp/v1.fd --cpus 1 --memory 256M --reboot=exit
vm_expect vm 'Shell>' 120
vm_send vm 'reset\r'
rc=$(vm_wait vm 60); [ "$rc" = 3 ]; check reboot-exit-status $? "status $rc"

# A variable set from the shell survives a restart of polyvmm.
vm_start vm $FWARGS --vars /tmp/v1.fd --cpus 1 --memory 256M
vm_expect vm 'Shell>' 120
vm_send vm "setvar PolyKeep -guid $GUID -nv -bs =C0FFEE\r"
# The shell runs one command at a time: once the read-back below prints the
# value, the write before it has finished (under a loaded nested harness a
# fixed sleep was not always long enough, and reset -s cut the write off).
vm_send vm "setvar PolyKeep -guid $GUID\r"
vm_expect vm 'C0 FF EE' 60 || echo "the variable was not set in the first run"
vm_send vm 'reset -s\r'
vm_wait vm 60 >/dev/null
vm_start vm $FWARGS --vars /tmp/v1.fd --cpus 1 --memory 256M
vm_expect vm 'Shell>' 120
vm_send vm "setvar PolyKeep -guid $GUID\r"
vm_expect vm 'C0 FF EE' 60; check vars-persist-shell $? "$(tr -d '\r' </tmp/vm.log | grep -A1 'PolyKeep -' | tail -1)"
vm_send vm 'reset -s\r'
vm_wait vm 60 >/dev/null
v=$(polyvmm-vars get /tmp/v1.fd PolyKeep $GUID)
[ "$v" = "c0 ff ee" ]; check vars-persist-file $? "polyvmm-vars get: $v"

# SIGKILL at random moments while the firmware writes variables.
cp /tmp/v1.fd /tmp/vk.fd
bad=0; changed=0
for i in $(seq 1 50); do
	before=$(sha256sum /tmp/vk.fd | cut -c1-16)
	polyvmm $FWARGS --vars /tmp/vk.fd --cpus 1 --memory 256M --serial none </dev/null >/tmp/k.log 2>&1 &
	pid=$!
	usleep $(( $(shuf -i 300-4500 -n 1) * 1000 ))
	kill -9 $pid
	wait $pid 2>/dev/null
	out=$(polyvmm-vars check /tmp/vk.fd) || { bad=$((bad+1)); echo "kill $i: $out"; }
	[ "$(sha256sum /tmp/vk.fd | cut -c1-16)" != "$before" ] && changed=$((changed+1))
done
[ $bad = 0 ]; check sigkill-store-valid $? "$bad of 50 invalid"
[ $changed -ge 5 ]; check sigkill-store-changed $? "the store changed in $changed of 50 runs"
vm_start vm $FWARGS --vars /tmp/vk.fd --cpus 1 --memory 256M
vm_expect vm 'Shell>' 120; ok=$?
vm_send vm "setvar PolyKeep -guid $GUID\r"
vm_expect vm 'C0 FF EE' 60; ok2=$?
[ $ok = 0 ] && [ $ok2 = 0 ]; check sigkill-store-boots $? "OVMF boots with the store and PolyKeep survives"

# SIGTERM: polyvmm stops the guest (status 5) and says where its vCPU was,
# the trace a hung guest leaves when the boot manager force-stops it.
kill -TERM $(pidof polyvmm)
rc=$(vm_wait vm 60)
st=$(grep -c 'at stop: vCPU 0: rip=0x[0-9a-f]* .* rflags=0x[0-9a-f]*.*, \(running\|halted\)$' /tmp/vm.log)
[ "$rc" = 5 ] && [ "$st" = 1 ]; check sigterm-vcpu-state $? "status $rc; $(grep 'at stop' /tmp/vm.log | head -2)"
"""


def run(ctx):
    lib = os.path.join(ctx.top, "tests", "e2e", "guest", "lib.sh")
    pack = make_testpack(os.path.join(ctx.out, "test-work", "polyvmm.tar"), SCRIPT,
                         [("lib.sh", lib, 0o644)])
    with ctx.machine("ovmf", testpack=pack) as m:
        m.expect(r"init: test pack finished", timeout=1500)
        m.wait_exit(timeout=60)
        ctx.serial_checks(m.text().replace("\r", ""), CHECKS)
