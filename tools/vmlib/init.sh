#!/bin/busybox sh
# PID 1 of the tools/vm guest (initramfs).  Loads the drivers, mounts the
# control share (tag vmctl), runs the job described there, writes its exit
# status back and powers the guest off.  Everything job specific comes from the
# control share, so this file (and the cached initramfs) stays the same.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /run
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

say() { echo "vm-init: $*" > /dev/console; }
die() { say "FATAL: $*"; [ -d /vmctl ] && echo "$*" > /vmctl/init-error; sync; poweroff -f; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
# devtmpfs has no /dev/fd, /dev/stdin... (udev or systemd make them on a real
# system); growisofs -M hands genisoimage the previous session as /dev/fd/N
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
echo 0 > /proc/sys/kernel/printk 2>/dev/null

while read -r mod; do
    insmod "/lib/modules/$mod" || say "insmod $mod failed"
done < /etc/vm-modules

O=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /vmctl
mount -t 9p -o $O,cache=none vmctl /vmctl || die "cannot mount the control share"
[ -f /vmctl/env ] || die "no /vmctl/env"
. /vmctl/env

# Wait until all CD-ROM drives (and their sg nodes) are there.
i=0
while :; do
    n=$(ls -d /sys/class/block/sr* 2>/dev/null | wc -l)
    s=$(ls -d /sys/class/scsi_generic/sg* 2>/dev/null | wc -l)
    [ "$n" -ge "$VM_NCD" ] && [ "$s" -ge "$VM_NCD" ] && break
    i=$((i + 1))
    [ $i -gt 300 ] && die "only $n of $VM_NCD CD-ROM drives appeared"
    sleep 0.1
done
j=0
while [ $j -lt "$VM_NCD" ]; do
    k=0
    while [ ! -b /dev/sr$j ] || [ ! -c /dev/sg$j ]; do
        k=$((k + 1)); [ $k -gt 100 ] && die "/dev/sr$j or /dev/sg$j missing"
        sleep 0.05
    done
    # /dev/srN must be the drive on SCSI target N (the N-th --image).
    t=$(ls /sys/class/block/sr$j/device/scsi_device 2>/dev/null)
    [ "$t" = "0:0:$j:0" ] || die "/dev/sr$j is SCSI $t, expected 0:0:$j:0"
    j=$((j + 1))
done

R=
if [ "$VM_CHROOT" = 1 ]; then
    R=/host
    mkdir -p /host
    mount -t 9p -o $O,ro,cache=loose hostroot /host || die "cannot mount the host root"
    mount -o bind /dev /host/dev || die "cannot bind /dev"
    mount -o bind /dev/pts /host/dev/pts 2>/dev/null
    mount -t tmpfs tmpfs /host/dev/shm 2>/dev/null
    mount -t proc proc /host/proc || die "cannot mount /proc"
    mount -t sysfs sysfs /host/sys || die "cannot mount /sys"
    mount -t tmpfs -o mode=1777 tmpfs /host/tmp || die "cannot mount /tmp"
    [ -d /host/run ] && mount -t tmpfs -o mode=755 tmpfs /host/run
fi
mkdir -p "$R/run/vm" && mount -o bind /vmctl "$R/run/vm" || die "cannot bind the control share"

i=0
while [ $i -lt "${VM_NSHARE:-0}" ]; do
    eval "p=\$VM_SHARE$i"
    mkdir -p "$R$p" 2>/dev/null
    mount -t 9p -o $O,cache=none "share$i" "$R$p" || die "cannot mount share $p"
    i=$((i + 1))
done

say "running job"
if [ -n "$R" ]; then
    chroot /host /bin/sh /run/vm/job.sh > /vmctl/stdout 2> /vmctl/stderr < /dev/null
else
    /bin/sh /run/vm/job.sh > /vmctl/stdout 2> /vmctl/stderr < /dev/null
fi
echo $? > /vmctl/status.tmp
mv /vmctl/status.tmp /vmctl/status
sync
poweroff -f
