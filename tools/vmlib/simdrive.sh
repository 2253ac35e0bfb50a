# Sourced by job.sh in the guest (chrooted into the host root, as root) when
# "tools/vm run --sim-drive PATH" attaches simulated drives: each PATH becomes
# a SCSI LUN of the kernel's LIO target with a TCMU backstore (user_0/simN),
# answered by "python3 -m burner.tcmu", exported through the tcm_loop fabric
# so the guest's own SCSI layer attaches sr and sg to it.  See docs/tcmu.md.
#
# Inputs (from job.sh): VM_NSIM, VM_SIM0.., VM_SIM_TRACE (1: write
# PATH.cdb-trace), VM_REPO, VM_PYTHON.

CFG=/sys/kernel/config
TGT=$CFG/target
# WWNs of our own (NAA type 5, IEEE company id 001405 = LIO's default):
# drive N is the only LUN (0) of target naa.50014050000001NN, whose initiator
# (nexus) is naa.50014050000002NN.  One tcm_loop target per drive makes each
# its own SCSI host with the drive at LUN 0, as a real drive is; ten drives as
# LUNs 0-9 of one target broke wodim (libusal's LUN table has 8 entries, so
# LUNs 8 and 9 could not be opened: docs/tcmu.md).
sim_wwn() { printf 'naa.500140500000%02d%02d' "$1" "$2"; }
SIM_PIDS=

sim_fail() { echo "tools/vm guest: sim drive: $*" >&2; exit 1; }

sim_wait() {    # sim_wait TRIES TEST...: poll every 0.1 s
    n=$1; shift
    while ! "$@"; do
        n=$((n - 1)); [ $n -le 0 ] && return 1
        sleep 0.1
    done
}

sim_setup() {
    grep -q " $CFG configfs" /proc/mounts || mount -t configfs configfs $CFG \
        || sim_fail "cannot mount configfs"
    [ -d $TGT/core ] || sim_fail "no $TGT/core (target_core_mod not loaded?)"
    nsr=$(ls -d /sys/class/block/sr* 2>/dev/null | wc -l)
    set --             # the handler's arguments NAME=PATH (a PATH may hold spaces)
    i=0
    while [ $i -lt "$VM_NSIM" ]; do
        eval "p=\$VM_SIM$i"
        bs=$TGT/core/user_0/sim$i
        mkdir -p $bs || sim_fail "cannot create backstore $bs"
        # dev_size is not used (every command but REPORT LUNS goes to the
        # handler); 2048-byte blocks as an MMC drive has.
        echo "dev_config=isofuse/sim$i" > $bs/control &&
        echo "dev_size=107374182400" > $bs/control &&
        echo "hw_block_size=2048" > $bs/control &&
        echo "hw_max_sectors=32" > $bs/control &&
        echo 1 > $bs/enable || sim_fail "cannot enable backstore sim$i"
        set -- "$@" "sim$i=$p"
        i=$((i + 1))
    done
    # One handler for every drive (a Python start costs seconds in the
    # emulated guest).  It must be answering before a LUN is linked:
    # tcm_loop scans the new LUN (INQUIRY...) inside the link.
    trace=
    [ "$VM_SIM_TRACE" = 1 ] && trace=--trace
    rm -f /run/vm/sim.ready
    (cd "$VM_REPO" && exec "$VM_PYTHON" -m burner.tcmu serve $trace \
        --ready /run/vm/sim.ready "$@") > /run/vm/sim.log 2>&1 &
    SIM_PIDS=$!
    sim_wait 900 test -s /run/vm/sim.ready ||
        sim_fail "the handler did not start: $(cat /run/vm/sim.log)"
    i=0
    while [ $i -lt "$VM_NSIM" ]; do
        tpg=$TGT/loopback/$(sim_wwn 1 $i)/tpgt_1
        mkdir -p $tpg || sim_fail "cannot create the tcm_loop target of sim$i"
        sim_wwn 2 $i > $tpg/nexus || sim_fail "cannot create the nexus of sim$i"
        mkdir -p $tpg/lun/lun_0 &&
        ln -s $TGT/core/user_0/sim$i $tpg/lun/lun_0/sim$i ||
            sim_fail "cannot link the LUN of sim$i"
        n=$((nsr + i))
        sim_wait 300 test -b /dev/sr$n -a -c /dev/sg$n ||
            sim_fail "/dev/sr$n did not appear: $(cat /run/vm/sim.log)"
        i=$((i + 1))
    done
}

sim_teardown() {    # stop the handler: it saves every disc's state file
    for pid in $SIM_PIDS; do kill -TERM $pid 2>/dev/null; done
    for pid in $SIM_PIDS; do wait $pid; done
    [ -s /run/vm/sim.log ] && sed "s/^/sim: /" /run/vm/sim.log >&2
    sync
}
