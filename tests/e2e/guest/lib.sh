# Helpers for test packs that run inside the firmware (L1), sourced by run.sh.
# A VM started with vm_start has its serial console on a FIFO (input) and a
# log file (output), so the script can wait for lines and type commands.

FW=/usr/share/polyboot/firmware

# A VM that died leaves its console FIFO without a reader: typing into it
# must fail (EPIPE), not kill the whole test pack with SIGPIPE.
trap '' PIPE

check() { # name status detail...
	local name=$1 st=$2
	shift 2
	if [ "$st" = 0 ]; then echo "CHECK $name PASS $*"; else echo "CHECK $name FAIL $*"; fi
}

# vm_start NAME polyvmm-args...: runs polyvmm in the background.
vm_start() {
	local n=$1
	shift
	vm_run $n polyvmm --name "$n" --serial stdio "$@"
}

# vm_run NAME COMMAND...: any VMM with its serial console on stdin/stdout.
vm_run() {
	local n=$1
	shift
	rm -f /tmp/$n.in /tmp/$n.log /tmp/$n.rc
	mkfifo /tmp/$n.in
	( "$@" </tmp/$n.in >/tmp/$n.log 2>&1; echo $? >/tmp/$n.rc ) &
	# Hold the FIFO open for writing so polyvmm's stdin never sees EOF.
	eval "exec $(vm_fd $n)>/tmp/$n.in"
	date +%s >/tmp/$n.t0
}

vm_fd() { # a file descriptor number per VM name (4..9)
	case $1 in a|vm|vm1) echo 4 ;; b|vm2) echo 5 ;; c|vm3) echo 6 ;; *) echo 7 ;; esac
}

# vm_expect NAME REGEX SECONDS: waits until the VM's console shows REGEX.
vm_expect() {
	local n=$1 re=$2 t=$3 i=0
	while [ $i -lt $((t * 10)) ]; do
		if tr -d '\r' </tmp/$n.log | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g' | grep -qE "$re"; then
			return 0
		fi
		[ -e /tmp/$n.rc ] && break
		usleep 100000
		i=$((i + 1))
	done
	echo "vm_expect $n '$re' failed after ${t}s; console tail:"
	tr -d '\r' </tmp/$n.log | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g' | tail -15 | awk '{ print "  | " $0 }'
	return 1
}

# vm_count NAME REGEX: how many lines of the console match.
vm_count() {
	tr -d '\r' </tmp/$1.log | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g' | grep -cE "$2"
}

# vm_send NAME TEXT: types TEXT (printf format) on the VM's console.
vm_send() {
	local n=$1
	shift
	printf "$@" >&$(vm_fd $n)
}

# vm_wait NAME SECONDS: waits for polyvmm to exit; prints its status.
vm_wait() {
	local n=$1 t=$2 i=0
	while [ ! -e /tmp/$n.rc ] && [ $i -lt $((t * 10)) ]; do
		usleep 100000
		i=$((i + 1))
	done
	if [ -e /tmp/$n.rc ]; then
		cat /tmp/$n.rc
	else
		echo timeout
	fi
}

vm_elapsed() { echo $(( $(date +%s) - $(cat /tmp/$1.t0) )); }

# vm_expect_n NAME REGEX N SECONDS: waits until REGEX matched N lines.
vm_expect_n() {
	local n=$1 re=$2 want=$3 t=$4 i=0
	while [ $i -lt $((t * 10)) ]; do
		[ "$(vm_count $n "$re")" -ge "$want" ] && return 0
		[ -e /tmp/$n.rc ] && break
		usleep 100000
		i=$((i + 1))
	done
	echo "vm_expect_n $n '$re' x$want failed after ${t}s; console tail:"
	tr -d '\r' </tmp/$n.log | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g' | tail -15 | awk '{ print "  | " $0 }'
	return 1
}
