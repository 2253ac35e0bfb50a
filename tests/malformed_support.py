"""Helpers for tests/test_malformed.py: a small valid image, byte patches that
damage it in one place, and a FUSE mount that is always cleaned up.

Structures are located with the project's own reader on the *undamaged*
image (inode positions are byte offsets of directory records), then the
bytes of a copy are patched by hand following ECMA-119 §9.1 / SUSP §5.1.
"""

import os
import signal
import subprocess
import sys
import time
import zlib

from isofuse.format import dirrecord
from isofuse.reader import open_image
from mountutil import is_mounted

SECTOR = 2048
ISOFUSE = [sys.executable, "-m", "isofuse.cli.main"]
MOUNT_WAIT = 15.0
ACCESS_TIMEOUT = 10.0

ZISOFS_MAGIC = b"\x37\xe4\x53\x96\xc9\xdb\xd6\x07"

FILES = {
    "hello.txt": b"hello world\n",
    "other.txt": b"other file\n",
    "victim.txt": b"victim data\n",
    "sub/inner.txt": b"inner\n",
    "sub/deeper/leaf.txt": b"leaf\n",
    # named to sort last: xorriso lays file data out in path order, so a cut
    # in its middle leaves every other file's data intact
    "zzz_big.bin": bytes(range(256)) * 400,
}
ZDATA = b"compress me, please; " * 5000
ZISOFS_NAME = "zdata.txt"
SYMLINK = ("link", "hello.txt")
FILE_MODE = 0o640


def _zisofs_file(payload, block_log2=15):
    """A zisofs ("pz") file as mkzftree writes it: header, block table, zlib
    blocks (zisofs layout: magic, u32 LE size, header size / 4, log2 block)."""
    block = 1 << block_log2
    chunks = [zlib.compress(payload[i:i + block]) for i in range(0, len(payload), block)]
    header = ZISOFS_MAGIC + len(payload).to_bytes(4, "little") + bytes([4, block_log2, 0, 0])
    pos = len(header) + 4 * (len(chunks) + 1)
    table = []
    for c in chunks:
        table.append(pos)
        pos += len(c)
    table.append(pos)
    return header + b"".join(t.to_bytes(4, "little") for t in table) + b"".join(chunks)


def make_tree(root):
    for rel, data in FILES.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, FILE_MODE)
    with open(os.path.join(root, ZISOFS_NAME), "wb") as f:
        f.write(_zisofs_file(ZDATA))
    os.symlink(SYMLINK[1], os.path.join(root, SYMLINK[0]))


def build_image(workdir):
    """xorriso -as mkisofs -R -J -z over the generated tree; returns the path."""
    src = os.path.join(workdir, "src")
    os.makedirs(src)
    make_tree(src)
    image = os.path.join(workdir, "base.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-J", "-z", "-quiet",
                    "-o", image, src], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    return image


class Layout:
    """Where things are in the undamaged image (byte offsets / sectors)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        with open_image(path) as image:
            assert image.view == "rockridge"
            self.root_sector = image.root.extents[0][0]
            self.nodes = {}

            def walk(node, prefix):
                for child in image.listdir(node):
                    rel = prefix + child.name.decode()
                    self.nodes[rel] = (child.position, child.extents, child.size)
                    if child.is_dir:
                        walk(child, rel + "/")
            walk(image.root, "")

    def record_offset(self, rel):
        return self.nodes[rel][0]

    def extent(self, rel):
        return self.nodes[rel][1][0][0]

    def record(self, rel):
        pos = self.record_offset(rel)
        sector_end = (pos // SECTOR + 1) * SECTOR
        return dirrecord.decode_record(self.data, pos, sector_end)

    def su_span(self, rel):
        """(start, end) byte offsets of the record's System Use area."""
        pos = self.record_offset(rel)
        rec = self.record(rel)
        start = pos + 33 + len(rec.name) + (1 - len(rec.name) % 2)
        return start, pos + rec.length


# ---- byte patches --------------------------------------------------------------

def both32(value):
    return value.to_bytes(4, "little") + value.to_bytes(4, "big")


def both16(value):
    return value.to_bytes(2, "little") + value.to_bytes(2, "big")


def patch(data, offset, raw):
    data[offset:offset + len(raw)] = raw


def set_extent(data, record_offset, sector):
    patch(data, record_offset + 2, both32(sector))          # ECMA-119 §9.1.3


def set_size(data, record_offset, size):
    patch(data, record_offset + 10, both32(size))           # §9.1.4


def replace_system_use(data, layout, rel, new_su):
    """Overwrite a record's System Use area (zero-filled after ``new_su``)."""
    start, end = layout.su_span(rel)
    assert len(new_su) <= end - start, (rel, len(new_su), end - start)
    patch(data, start, new_su.ljust(end - start, b"\x00"))


def susp_entry(sig, payload, version=1):
    return sig + bytes([4 + len(payload), version]) + payload


def ce_entry(block, offset, length):
    return susp_entry(b"CE", both32(block) + both32(offset) + both32(length))


def nm_entry(name):
    return susp_entry(b"NM", b"\x00" + name)


def px_entry(mode, nlink=1, uid=0, gid=0):
    return susp_entry(b"PX", both32(mode) + both32(nlink) + both32(uid) + both32(gid))


def write_copy(tmp_path, name, data):
    path = os.path.join(str(tmp_path), name)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path


# ---- mounting --------------------------------------------------------------------



class Mounts:
    """Mounts images with ``isofuse mount -f`` and cleans all of them up."""

    def __init__(self, tmp_path):
        self.tmp_path = str(tmp_path)
        self.active = []   # (mountpoint, proc, log path)
        self.count = 0

    def mount(self, image):
        self.count += 1
        mnt = os.path.join(self.tmp_path, f"mnt{self.count}")
        os.makedirs(mnt, exist_ok=True)
        log = mnt + ".log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(ISOFUSE + ["mount", "-f", image, mnt],
                                    stdout=out, stderr=subprocess.STDOUT)
        self.active.append((mnt, proc, log))
        deadline = time.monotonic() + MOUNT_WAIT
        while not is_mounted(mnt):
            if proc.poll() is not None:
                raise AssertionError(f"isofuse mount exited with {proc.returncode}: "
                                     + self.log(mnt))
            if time.monotonic() > deadline:
                raise AssertionError(f"{image} not mounted after {MOUNT_WAIT} s")
            time.sleep(0.02)
        return mnt

    def proc(self, mnt):
        return next(p for m, p, _ in self.active if m == mnt)

    def log(self, mnt):
        path = mnt + ".log"
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")

    def assert_alive(self, mnt):
        proc = self.proc(mnt)
        assert proc.poll() is None, "daemon died: " + self.log(mnt)
        assert is_mounted(mnt)
        r = run(["stat", "-c", "%i", mnt])
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == b"1"
        assert "Traceback" not in self.log(mnt), self.log(mnt)

    def cleanup(self):
        for mnt, proc, _ in reversed(self.active):
            if is_mounted(mnt):
                subprocess.run(["fusermount3", "-u", "-z", mnt], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=20)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=5)
            if is_mounted(mnt):   # the daemon died without unmounting
                subprocess.run(["umount", "-l", mnt], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=20)
        self.active = []


def run(args, timeout=ACCESS_TIMEOUT):
    """Access the mount from another process: a hung FUSE request then
    cannot hang the test runner (the child is killed at the timeout)."""
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def ls(path):
    r = run(["ls", "-1A", path])
    return r.returncode, sorted(r.stdout.decode().split("\n")[:-1]), r.stderr.decode()


def cat(path):
    r = run(["cat", path])
    return r.returncode, r.stdout, r.stderr.decode()
