"""Set up and boot the tools/vm guest: a real Debian Linux kernel under QEMU.

Layout of the cache folder ($ISOFUSE_VM_CACHE or ~/.cache/isofuse-vm):

    debs/                     linux-image-*.deb while downloading (removed)
    kernel/<version>/         the unpacked kernel package (+ depmod output),
                              pruned to vmlinuz and the modules the guest loads
    kernel/current            name of the kernel version in use
    initramfs-<hash>.cpio     the guest's initramfs; <hash> covers its inputs
    lock                      flock()ed while setting up

A job runs like this: the host writes a control folder (env, job.sh) and boots
QEMU with it shared over 9p (tag vmctl); the guest's /init (init.sh next to
this file) loads the drivers, mounts the control folder, optionally the host's
root read-only (tag hostroot) and the extra shares, runs job.sh (in a chroot
into the host root, or with busybox) with stdout/stderr redirected into the
control folder, writes the exit status there and powers off.  The kernel's own
messages go to a separate console log, so they never mix with the output.
"""

import fcntl
import hashlib
import os
import re
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections import namedtuple

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
INIT_SCRIPT = os.path.join(HERE, "init.sh")
SIMDRIVE_SCRIPT = os.path.join(HERE, "simdrive.sh")

APT_PACKAGES = ("qemu-system-x86", "busybox-static", "kmod")
#: Modules the guest loads (dependencies are added from modules.dep).
GUEST_MODULES = ("virtio_pci", "virtio_scsi", "sr_mod", "sg", "isofs",
                 "9pnet_virtio", "9p", "fuse", "loop",
                 # --sim-drive: LIO with a TCMU backstore on tcm_loop
                 "configfs", "uio", "target_core_mod", "target_core_user",
                 "tcm_loop")
DEFAULT_TIMEOUT = 120
DEFAULT_MEMORY = 1024
TIMEOUT_EXIT = 124          # exit status of the CLI when the time limit hit
GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class VMError(Exception):
    """A problem of tools/vm itself (set-up, bad arguments, guest failure)."""


class VMTimeout(VMError):
    """The guest did not finish within the time limit and was killed."""

    def __init__(self, message, console=""):
        super().__init__(message)
        self.console = console


class GuestResult(namedtuple("GuestResult", "returncode stdout stderr")):
    """(returncode, stdout, stderr) of a guest command; .console has the
    guest's kernel/console log, .seconds the wall time of the boot."""
    console = ""
    seconds = 0.0


def _log(msg, quiet=False):
    if not quiet:
        print("tools/vm: " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# cache and set-up

def cache_dir():
    path = os.environ.get("ISOFUSE_VM_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "isofuse-vm")
    return os.path.abspath(path)


class _Lock:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def _is_static_elf(path):
    """True if path is an ELF executable without a program interpreter."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                return False
            end = "<" if head[5] == 1 else ">"
            phoff, = struct.unpack(end + "Q", head[32:40])
            phentsize, phnum = struct.unpack(end + "HH", head[54:58])
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                p_type, = struct.unpack(end + "I", f.read(4))
                if p_type == 3:          # PT_INTERP: dynamically linked
                    return False
            return True
    except OSError:
        return False


def find_busybox():
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if _is_static_elf(path):
            return path
    return None


def find_qemu():
    return shutil.which("qemu-system-x86_64")


def find_depmod():
    return shutil.which("depmod") or next(
        (p for p in ("/sbin/depmod", "/usr/sbin/depmod") if os.path.exists(p)),
        None)


def _missing_packages():
    missing = []
    if not find_qemu():
        missing.append("qemu-system-x86")
    if not find_busybox():
        missing.append("busybox-static")
    if not find_depmod():
        missing.append("kmod")
    return missing


def _run(cmd, cwd=None, quiet=False):
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise VMError("%s failed (exit %d):\n%s" % (
            shlex.join(cmd), proc.returncode, proc.stdout.strip()[-2000:]))
    return proc.stdout


def _apt_env():
    env = dict(os.environ)
    env["DEBIAN_FRONTEND"] = "noninteractive"
    return env


def install_packages(quiet=False):
    """apt-get install what is missing (qemu, static busybox, depmod)."""
    missing = _missing_packages()
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise VMError("missing host packages: %s (install them with "
                      "apt-get install %s)" % (" ".join(missing),
                                               " ".join(missing)))
    _log("installing " + " ".join(missing) + " with apt-get", quiet)
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + missing
    proc = subprocess.run(cmd, env=_apt_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        _run(["apt-get", "update", "-q"], quiet=quiet)
        proc = subprocess.run(cmd, env=_apt_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise VMError("apt-get install %s failed:\n%s" % (
                " ".join(missing), proc.stdout[-2000:]))
    still = _missing_packages()
    if still:
        raise VMError("still missing after apt-get: " + " ".join(still))


def _apt_download(name, dest, quiet=False):
    """apt-get download NAME into dest; return the .deb path or None."""
    before = set(os.listdir(dest))
    proc = subprocess.run(["apt-get", "download", "-q", name], cwd=dest,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0:
        return None
    new = sorted(set(os.listdir(dest)) - before)
    debs = [f for f in new if f.endswith(".deb")]
    if not debs:   # already there from an earlier run
        debs = [f for f in os.listdir(dest)
                if f.startswith(name + "_") and f.endswith(".deb")]
    return os.path.join(dest, sorted(debs)[-1]) if debs else None


def _download_kernel(cache, quiet=False):
    """Download and unpack Debian's linux-image-amd64; return the version."""
    if not shutil.which("apt-get"):
        raise VMError("apt-get not found: tools/vm needs a Debian host to "
                      "download the guest kernel (linux-image-amd64)")
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    os.chmod(debs, 0o755)
    _log("downloading Debian's linux-image-amd64", quiet)
    meta = _apt_download("linux-image-amd64", debs, quiet)
    if meta is None and os.geteuid() == 0:
        _run(["apt-get", "update", "-q"], quiet=quiet)
        meta = _apt_download("linux-image-amd64", debs, quiet)
    if meta is None:
        raise VMError("apt-get download linux-image-amd64 failed "
                      "(run apt-get update?)")
    depends = _run(["dpkg-deb", "-f", meta, "Depends"])
    names = re.findall(r"(linux-image-[0-9][^\s,|()]*)", depends)
    if not names:
        raise VMError("cannot find the kernel package in Depends: " + depends)
    real = names[0]
    deb = _apt_download(real, debs, quiet)
    if deb is None and not real.endswith("-unsigned"):
        deb = _apt_download(real + "-unsigned", debs, quiet)
    if deb is None:
        raise VMError("apt-get download %s failed" % real)
    version = real[len("linux-image-"):]
    if version.endswith("-unsigned"):
        version = version[:-len("-unsigned")]
    dest = os.path.join(cache, "kernel", version)
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    _log("unpacking %s" % os.path.basename(deb), quiet)
    _run(["dpkg-deb", "-x", deb, tmp])
    # usrmerged packages put the modules below usr/lib
    moddir = _module_dir(tmp, version)
    if moddir is None:
        raise VMError("no lib/modules/%s in %s" % (version, deb))
    if not os.path.exists(os.path.join(tmp, "boot", "vmlinuz-" + version)):
        raise VMError("no boot/vmlinuz-%s in %s" % (version, deb))
    base = os.path.dirname(os.path.dirname(os.path.dirname(moddir)))
    _run([find_depmod(), "-b", base, version])
    _prune(tmp, version)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    shutil.rmtree(debs, ignore_errors=True)    # ~70 MB, fetched again on demand
    return version


def _prune(root, version):
    """Keep only the kernel image and the modules the guest loads (the whole
    package is ~400 MB unpacked, what is kept ~15 MB)."""
    moddir = _module_dir(root, version)
    keep = {os.path.join(moddir, rel) for rel in _module_order(moddir, GUEST_MODULES)}
    for dirpath, dirnames, filenames in os.walk(moddir, topdown=False):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if re.search(r"\.ko(\.\w+)?$", name) and path not in keep:
                os.unlink(path)
        if dirpath != moddir and not os.listdir(dirpath):
            os.rmdir(dirpath)
    for sub in ("usr", "lib", "etc"):   # firmware, docs, ... outside modules
        top = os.path.join(root, sub)
        if os.path.isdir(top) and not moddir.startswith(top + os.sep):
            shutil.rmtree(top)


def _module_dir(root, version):
    for sub in ("lib/modules", "usr/lib/modules"):
        path = os.path.join(root, sub, version)
        if os.path.isdir(path):
            return path
    return None


def _current_kernel(cache):
    try:
        with open(os.path.join(cache, "kernel", "current")) as f:
            version = f.read().strip()
    except OSError:
        return None
    root = os.path.join(cache, "kernel", version)
    moddir = _module_dir(root, version) if version else None
    if not (moddir and os.path.exists(os.path.join(root, "boot", "vmlinuz-" + version))):
        return None
    try:    # all modules the guest needs still there (GUEST_MODULES may grow)
        order = _module_order(moddir, GUEST_MODULES)
    except (OSError, VMError):
        return None
    if all(os.path.exists(os.path.join(moddir, rel)) for rel in order):
        return version
    return None


def _module_order(moddir, wanted):
    """Module files (relative to moddir) in load order: dependencies first."""
    deps = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            if ":" not in line:
                continue
            mod, rest = line.split(":", 1)
            deps[mod.strip()] = rest.split()
    builtin = set()
    try:
        with open(os.path.join(moddir, "modules.builtin")) as f:
            builtin = {_mod_name(x.strip()) for x in f}
    except OSError:
        pass
    by_name = {_mod_name(path): path for path in deps}
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        for dep in deps.get(path, []):
            visit(dep)
        order.append(path)

    for name in wanted:
        key = name.replace("-", "_")
        if key in by_name:
            visit(by_name[key])
        elif key not in builtin:
            raise VMError("kernel module %s not found" % name)
    return order


def _mod_name(path):
    base = os.path.basename(path)
    base = re.sub(r"\.ko(\.(xz|zst|gz))?$", "", base)
    return base.replace("-", "_")


def _read_module(path):
    """Module contents, decompressed (busybox insmod takes plain .ko)."""
    if path.endswith(".xz"):
        try:
            import lzma
        except ImportError:       # python built without liblzma
            return subprocess.run(["xz", "-dc", path], check=True,
                                  stdout=subprocess.PIPE).stdout
        with lzma.open(path) as f:
            return f.read()
    if path.endswith(".gz"):
        import gzip
        with gzip.open(path) as f:
            return f.read()
    if path.endswith(".zst"):
        zstd = shutil.which("zstd")
        if not zstd:
            raise VMError("kernel modules are .zst: install zstd")
        return subprocess.run([zstd, "-dc", path], check=True,
                              stdout=subprocess.PIPE).stdout
    with open(path, "rb") as f:
        return f.read()


class _Cpio:
    """Minimal writer of the "newc" cpio format the kernel unpacks."""

    def __init__(self):
        self.parts = []
        self.ino = 1

    def _add(self, name, mode, data=b""):
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                  len(name_b), 0)
        header = b"070701" + b"".join(b"%08X" % v for v in fields)
        self.ino += 1
        blob = header + name_b
        blob += b"\0" * (-len(blob) % 4)
        blob += data + b"\0" * (-len(data) % 4)
        self.parts.append(blob)

    def dir(self, name, perm=0o755):
        self._add(name, stat.S_IFDIR | perm)

    def file(self, name, data, perm=0o644):
        self._add(name, stat.S_IFREG | perm, data)

    def symlink(self, name, target):
        self._add(name, stat.S_IFLNK | 0o777, target.encode())

    def bytes(self):
        self.ino = 0
        self._add("TRAILER!!!", 0)
        return b"".join(self.parts)


def _build_initramfs(cache, version, quiet=False):
    """Return the path of the initramfs for this kernel, building it if its
    inputs (kernel version, module files, init script, busybox) changed."""
    root = os.path.join(cache, "kernel", version)
    moddir = _module_dir(root, version)
    busybox = find_busybox()
    if busybox is None:
        raise VMError("no static busybox (apt-get install busybox-static)")
    with open(INIT_SCRIPT, "rb") as f:
        init = f.read()
    with open(busybox, "rb") as f:
        bb = f.read()
    order = _module_order(moddir, GUEST_MODULES)
    digest = hashlib.sha256()
    for part in (version.encode(), init, bb, "\n".join(order).encode()):
        digest.update(hashlib.sha256(part).digest())
    for rel in order:
        st = os.stat(os.path.join(moddir, rel))
        digest.update(("%s %d %d" % (rel, st.st_size, st.st_mtime_ns)).encode())
    out = os.path.join(cache, "initramfs-%s.cpio" % digest.hexdigest()[:16])
    if os.path.exists(out):
        return out
    _log("building the initramfs", quiet)
    cpio = _Cpio()
    for d in ("bin", "sbin", "etc", "lib", "lib/modules", "proc", "sys",
              "dev", "tmp", "run", "usr", "usr/bin", "usr/sbin"):
        cpio.dir(d)
    cpio.file("bin/busybox", bb, 0o755)
    cpio.symlink("bin/sh", "busybox")
    cpio.file("init", init, 0o755)
    names = []
    for rel in order:
        data = _read_module(os.path.join(moddir, rel))
        name = _mod_name(rel) + ".ko"
        cpio.file("lib/modules/" + name, data)
        names.append(name)
    cpio.file("etc/vm-modules", ("\n".join(names) + "\n").encode())
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cpio.bytes())
    os.rename(tmp, out)
    for f in os.listdir(cache):      # drop stale initramfs images
        if f.startswith("initramfs-") and os.path.join(cache, f) != out:
            try:
                os.unlink(os.path.join(cache, f))
            except OSError:
                pass
    return out


Setup = namedtuple("Setup", "qemu kernel initramfs version")


def setup(refresh=False, quiet=False):
    """Make sure everything is installed and cached; idempotent and cheap
    when done before.  refresh=True downloads the newest kernel again.
    Returns Setup(qemu, kernel, initramfs, version)."""
    cache = cache_dir()
    with _Lock(os.path.join(cache, "lock")):
        install_packages(quiet)
        version = None if refresh else _current_kernel(cache)
        if version is None:
            version = _download_kernel(cache, quiet)
            with open(os.path.join(cache, "kernel", "current.tmp"), "w") as f:
                f.write(version + "\n")
            os.rename(os.path.join(cache, "kernel", "current.tmp"),
                      os.path.join(cache, "kernel", "current"))
            for d in os.listdir(os.path.join(cache, "kernel")):
                if d not in (version, "current"):
                    shutil.rmtree(os.path.join(cache, "kernel", d),
                                  ignore_errors=True)
        initramfs = _build_initramfs(cache, version, quiet)
        kernel = os.path.join(cache, "kernel", version, "boot",
                              "vmlinuz-" + version)
        return Setup(find_qemu(), kernel, initramfs, version)


# --------------------------------------------------------------------------
# running a guest

def _qemu_opt(value):
    """Escape a value for a QEMU -drive/-fsdev option list."""
    return str(value).replace(",", ",,")


def _check_image(path):
    if not os.path.exists(path):
        raise VMError("image not found: %s" % path)
    if not (os.path.isfile(path) or stat.S_ISBLK(os.stat(path).st_mode)):
        raise VMError("image is not a file: %s" % path)
    if not os.access(path, os.R_OK):
        raise VMError("image not readable: %s" % path)
    return os.path.abspath(path)


def _python_for_guest():
    """The host's python3 (this interpreter; a venv's python stays the venv's).
    If it lives below /tmp or /run, python_shares() shares it into the guest."""
    return os.path.abspath(sys.executable)


def _hidden(path):
    return (path + os.sep).startswith(HIDDEN_IN_GUEST)


def python_shares():
    """Folders of this Python (a virtualenv, or the interpreter itself) that
    the guest would hide under its own /tmp, /run or /dev/shm: shared into
    the guest at the same path, as the checkout is."""
    out = []
    for prefix in (sys.prefix, sys.base_prefix,
                   os.path.dirname(os.path.dirname(_python_for_guest()))):
        prefix = os.path.abspath(prefix)
        if _hidden(prefix) and os.path.isdir(prefix) and prefix not in out:
            out.append(prefix)
    return out


def _covered(path, shares):
    return any(path == s or path.startswith(s + os.sep) for s in shares)


def _add_share(shares, path):
    if not _covered(path, shares):
        shares[:] = [s for s in shares if not s.startswith(path + os.sep)]
        shares.append(path)


def _die_with_parent():
    """preexec_fn: QEMU gets SIGKILL when the process that started it dies,
    even if that one is killed without a chance to clean up."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG
    except Exception:
        pass


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HIDDEN_IN_GUEST = ("/tmp/", "/run/", "/dev/shm/")


def run_in_guest(command, images=(), share=(), chroot=True,
                 timeout=DEFAULT_TIMEOUT, env=None, files=None,
                 memory=DEFAULT_MEMORY, text=True, quiet=True,
                 console_log=None, sim_drives=(), sim_trace=False):
    """Boot the guest, run command in it and return a GuestResult
    (returncode, stdout, stderr).

    command   a shell script (str) or an argv list; run by the host's /bin/sh
              chrooted into the host's root (chroot=True) or by busybox sh.
    images    image files attached as MMC CD-ROM drives /dev/sr0, /dev/sr1,
              ... (and /dev/sg0, /dev/sg1, ...) in this order.
    share     host folders (str or list) shared read-write over 9p, mounted
              at the same path inside the guest.
    env       extra environment variables for the command.
    files     {name: bytes or str} put in the control folder, which the
              command sees as $VM_CTL (/run/vm).
    timeout   hard limit in seconds for the whole boot: QEMU is killed and
              VMTimeout raised when exceeded.
    console_log  path to keep the guest console (kernel messages) in.
    sim_drives  simulated discs (sim:PATH without "sim:") attached after the
              images as real SCSI drives (LIO + TCMU + tcm_loop, answered by
              burner.tcmu; docs/tcmu.md); their folders are shared
              read-write so the disc and its state file change on the host.
    sim_trace  with sim_drives: the handler appends every CDB it answers to
              PATH.cdb-trace.

    Inside the chroot /tmp, /run and /dev/shm are fresh tmpfs, /dev, /proc,
    /sys are the guest's own and the rest of the host is read-only.
    Raises VMError when the guest fails to run the command at all.
    """
    images = [_check_image(os.fspath(i)) for i in images]
    sims = [_check_sim(os.fspath(p)) for p in sim_drives]
    if sims and not chroot:
        raise VMError("--sim-drive needs the host root (not --busybox): "
                      "its handler is the project's Python")
    shares = _guest_shares(share, chroot, sims)
    if not isinstance(command, str):
        command = shlex.join([os.fspath(c) for c in command])
    cfg = setup(quiet=quiet)

    _clean_stale_jobs()
    files = dict(files or {})
    ctl = tempfile.mkdtemp(prefix="isofuse-vm-%d-" % os.getpid())
    try:
        job = _job_script(command, chroot, shares, env, sims, sim_trace, files)
        _write_control(ctl, images, chroot, shares, job, files)
        console = console_log or os.path.join(ctl, "console.log")
        argv = _qemu_argv(cfg, ctl, console, memory, chroot, shares, images)
        proc, seconds = _boot(argv, ctl, timeout, console)
        return _guest_result(ctl, proc, console, text, seconds)
    finally:
        shutil.rmtree(ctl, ignore_errors=True)


def _job_script(command, chroot, shares, env, sims, sim_trace, files):
    """The text of job.sh: the environment, then command (with the
    simulated drives attached around it); may add files (simdrive.sh...)."""
    genv = {"PATH": GUEST_PATH, "HOME": "/root", "LANG": "C.UTF-8",
            "TERM": "dumb", "VM_CTL": "/run/vm", "VM_SHARES": ":".join(shares)}
    if chroot:
        genv["PATH"] = os.path.dirname(_python_for_guest()) + ":" + GUEST_PATH
        genv["VM_PYTHON"] = _python_for_guest()
    genv.update(env or {})
    job = ["# generated by tools/vm"]
    job += ["export %s=%s" % (k, shlex.quote(str(v))) for k, v in genv.items()]
    if sims:
        job += _sim_job(sims, sim_trace, command, files)
    else:
        job += ["cd /", command, ""]
    return "\n".join(job)


def _write_control(ctl, images, chroot, shares, job, files):
    """The control folder the guest's /init reads (env, job.sh, files)."""
    lines = ["VM_NCD=%d" % len(images), "VM_CHROOT=%d" % bool(chroot),
             "VM_NSHARE=%d" % len(shares)]
    lines += ["VM_SHARE%d=%s" % (i, shlex.quote(s)) for i, s in enumerate(shares)]
    with open(os.path.join(ctl, "env"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(ctl, "job.sh"), "w") as f:
        f.write(job)
    for name, data in files.items():
        mode = "w" if isinstance(data, str) else "wb"
        with open(os.path.join(ctl, name), mode) as f:
            f.write(data)


def _qemu_argv(cfg, ctl, console, memory, chroot, shares, images):
    argv = [cfg.qemu, "-nodefaults", "-no-user-config", "-nographic",
            "-accel", "tcg", "-cpu", "max", "-m", str(memory),
            "-smp", "1", "-no-reboot",
            "-kernel", cfg.kernel, "-initrd", cfg.initramfs,
            "-append", "console=ttyS0 quiet loglevel=0 panic=-1 rdinit=/init",
            "-serial", "file:" + console, "-monitor", "none",
            "-device", "virtio-scsi-pci,id=scsi0"]
    argv += ["-fsdev", "local,id=vmctl,path=%s,security_model=none" % _qemu_opt(ctl),
             "-device", "virtio-9p-pci,fsdev=vmctl,mount_tag=vmctl"]
    if chroot:
        argv += ["-fsdev", "local,id=hostroot,path=/,security_model=none,"
                 "readonly=on,multidevs=remap",
                 "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"]
    for i, s in enumerate(shares):
        argv += ["-fsdev", "local,id=share%d,path=%s,security_model=none,"
                 "multidevs=remap" % (i, _qemu_opt(s)),
                 "-device", "virtio-9p-pci,fsdev=share%d,mount_tag=share%d" % (i, i)]
    for i, img in enumerate(images):
        argv += ["-drive", "file=%s,if=none,id=cd%d,media=cdrom,"
                 "readonly=on,format=raw" % (_qemu_opt(img), i),
                 "-device", "scsi-cd,bus=scsi0.0,drive=cd%d,channel=0,"
                 "scsi-id=%d,lun=0" % (i, i)]
    return argv


def _boot(argv, ctl, timeout, console):
    """Run QEMU until the guest powers off; kill it (VMTimeout) after
    timeout seconds.  QEMU never outlives this call."""
    start = time.monotonic()
    with open(os.path.join(ctl, "qemu.err"), "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err,
                                stderr=err, start_new_session=True,
                                preexec_fn=_die_with_parent)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise VMTimeout("guest did not finish within %gs: killed" % timeout,
                            _tail(console))
        finally:
            if proc.poll() is None:       # KeyboardInterrupt, ...
                _kill(proc)
    return proc, time.monotonic() - start


def _guest_result(ctl, proc, console, text, seconds):
    """The GuestResult from the control folder; VMError if the guest did
    not get to run the command (no status file, QEMU failed)."""
    def read(name):
        try:
            with open(os.path.join(ctl, name), "rb") as f:
                data = f.read()
        except OSError:
            return None
        return data.decode("utf-8", "replace") if text else data

    status = read("status")
    if status is None or proc.returncode != 0:
        why = read("init-error")
        why = why if why is None or text else why.decode("utf-8", "replace")
        msg = "guest failed" + (": " + why.strip() if why else "")
        if proc.returncode != 0:
            msg += " (qemu exit %d)" % proc.returncode
        qerr = _tail(os.path.join(ctl, "qemu.err"))
        if qerr:
            msg += "\nqemu: " + qerr
        tail = _tail(console)
        if tail and not why:
            msg += "\nconsole:\n" + tail
        raise VMError(msg)
    status = status.strip() if isinstance(status, str) else status.decode().strip()
    empty = "" if text else b""
    result = GuestResult(int(status), read("stdout") or empty, read("stderr") or empty)
    result.console = _tail(console, 100000)
    result.seconds = seconds
    return result


def _guest_shares(share, chroot, sims):
    """The folders shared read-write: those asked for, and what the guest
    would hide or needs to write."""
    if isinstance(share, (str, os.PathLike)):
        share = [share]
    shares = []
    for s in share:
        s = os.path.abspath(os.fspath(s))
        if not os.path.isdir(s):
            raise VMError("share is not a directory: %s" % s)
        shares.append(s)
    if chroot:
        # The guest's /tmp, /run and /dev/shm are its own: a checkout there
        # (CI clones into such folders) would vanish, and with it the
        # editable install the guest's Python imports.  Share it, and a
        # Python (virtualenv) living there.
        if _hidden(REPO_ROOT):
            _add_share(shares, REPO_ROOT)
        for folder in python_shares():
            _add_share(shares, folder)
    for path in sims:           # the disc and its state file change
        _add_share(shares, os.path.dirname(path))
    return shares


def _check_sim(path):
    path = os.path.abspath(path)
    if not os.path.isfile(path) or not os.path.isfile(path + ".state.json"):
        raise VMError("not a simulated disc: %s (create one with python3 -m "
                      "burner.simtool create %s)" % (path, path))
    return path


def _sim_job(sims, trace, command, files):
    """job.sh lines that attach the simulated drives, run command (from its
    own file, so an "exit" in it still lets the handlers save) and stop
    the handlers again."""
    with open(SIMDRIVE_SCRIPT) as f:
        files["simdrive.sh"] = f.read()
    files["command.sh"] = command + "\n"
    lines = ["export VM_NSIM=%d VM_SIM_TRACE=%d VM_REPO=%s" % (
        len(sims), bool(trace), shlex.quote(REPO_ROOT))]
    lines += ["export VM_SIM%d=%s" % (i, shlex.quote(p)) for i, p in enumerate(sims)]
    lines += [". /run/vm/simdrive.sh", "sim_setup",
              "(cd / && . /run/vm/command.sh)", "rc=$?", "sim_teardown",
              "exit $rc", ""]
    return lines


def _clean_stale_jobs():
    """Remove control folders of runs whose process was killed (SIGKILL
    leaves no chance to clean up; their QEMU died with them)."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        m = re.fullmatch(r"isofuse-vm-(\d+)-\w+", name)
        if not m:
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
        except OSError:
            pass


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(path, limit=3000):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace").strip()


# --------------------------------------------------------------------------
# kernel listings

def _treelisting():
    sys.path.insert(0, TOOLS) if TOOLS not in sys.path else None
    import treelisting
    return treelisting


def listing_request(image, norock=False, nojoliet=False, options=()):
    """One entry for kernel_listings(): an image and how to mount it."""
    opts = list(options)
    if norock:
        opts.append("norock")
    if nojoliet:
        opts.append("nojoliet")
    return (image, tuple(opts))


def kernel_listings(requests, fields=None, hashes=True,
                    timeout=DEFAULT_TIMEOUT, quiet=True):
    """List many images as the Linux kernel's isofs sees them, in one boot.

    requests  a list of image paths or listing_request(...) tuples
              (image, mount options such as ("norock", "nojoliet")); the same
              image may appear several times with different options, it is
              attached once.
    Returns one list of treelisting lines per request, in order.  Raises
    VMError if a mount or listing fails.
    """
    tl = _treelisting()
    fields = list(fields or tl.FIELDS)
    unknown = set(fields) - set(tl.FIELDS)
    if unknown:
        raise VMError("unknown field(s): " + ", ".join(sorted(unknown)))
    norm = []
    for req in requests:
        if isinstance(req, (str, os.PathLike)):
            req = (req, ())
        image, opts = req
        for opt in opts:
            if not re.fullmatch(r"[A-Za-z0-9_=.:-]+", opt):
                raise VMError("bad mount option: %r" % opt)
        norm.append((_check_image(os.fspath(image)), list(opts)))
    drives = []
    for image, _ in norm:
        if image not in drives:
            drives.append(image)
    spec = [{"device": "/dev/sr%d" % drives.index(image), "options": opts,
             "fields": fields, "hashes": bool(hashes)} for image, opts in norm]
    with open(os.path.join(HERE, "guest_listing.py")) as f:
        driver = f.read()
    with open(tl.__file__) as f:
        treelisting_src = f.read()
    import json
    result = run_in_guest(
        '"$VM_PYTHON" "$VM_CTL/guest_listing.py" "$VM_CTL/requests.json"',
        images=drives, timeout=timeout, quiet=quiet,
        files={"guest_listing.py": driver, "treelisting.py": treelisting_src,
               "requests.json": json.dumps(spec)})
    if result.returncode != 0:
        raise VMError("listing in the guest failed (exit %d): %s" % (
            result.returncode, result.stderr.strip()[-2000:]))
    try:
        answers = json.loads(result.stdout)
    except ValueError:
        raise VMError("bad output from the guest: %r" % result.stdout[-500:])
    out = []
    for (image, opts), ans in zip(norm, answers):
        if "error" in ans:
            raise VMError("%s: %s" % (image, ans["error"]))
        out.append(ans["lines"])
    return out


def kernel_listing(image, norock=False, nojoliet=False, fields=None,
                   hashes=True, options=(), timeout=DEFAULT_TIMEOUT,
                   quiet=True):
    """The treelisting lines of image as mounted by the Linux kernel
    (mount -t iso9660 -o ro[,norock][,nojoliet][,options])."""
    return kernel_listings([listing_request(image, norock, nojoliet, options)],
                           fields=fields, hashes=hashes, timeout=timeout,
                           quiet=quiet)[0]


def _parent_pid(pid):
    try:
        with open("/proc/%s/stat" % pid, "rb") as f:
            stat_line = f.read()
    except OSError:
        return 0
    # "pid (comm) state ppid ...": comm may hold spaces, so split after ")"
    return int(stat_line.rsplit(b")", 1)[1].split()[1])


def _descends_from(pid, ancestor):
    seen = 0
    while pid > 1 and seen < 64:
        if pid == ancestor:
            return True
        pid = _parent_pid(pid)
        seen += 1
    return pid == ancestor


def running_guests(mine_only=True):
    """PIDs of QEMU processes running this cache's kernel (for leak checks);
    by default only those started by this process (so two test runs on one
    machine do not see each other's guests)."""
    marker = os.path.join(cache_dir(), "kernel").encode()
    me = os.getpid()
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"qemu-system" in cmdline and marker in cmdline:
            if not mine_only or _descends_from(int(pid), me):
                pids.append(int(pid))
    return pids
