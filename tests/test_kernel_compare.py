"""isofuse against the real Linux kernel (isofs, tools/vm): same listings.

Three boots for the whole module:

1. ``kernel_views``: eight corpus images, each listed by the kernel with its
   default mount (Rock Ridge where there is one) and with ``norock`` (the
   Joliet tree where there is one); on the host the same images are mounted
   with isofuse and listed the same way.
2. ``guest_block_device``: isofuse inside the guest, reading /dev/sr0 (a real
   sr block device), against the kernel's mount of the same /dev/sr0.
3. ``guest_multisession``: a disc grown by xorriso in two sessions.

All listings use every field of tools/treelisting.py.  The differences are
computed exactly and must equal the documented ones (README, "Differences
from the Linux kernel, on purpose", plus those named in DIFFERENCES below),
so a new difference fails the test.

Entries the kernel cannot read: tools/vmlib/guest_listing.py turns any error
of a listing into an error for the whole request (kernel_listings() then
raises VMError), which is no use for genisoimage's long symbolic link (the
kernel's readlink gives EIO).  So the guest runs GUEST_SCRIPT below: the same
treelisting.py, loaded as a private copy whose readlink/sha256 report an error
as "!ERRNO" (e.g. "!EIO") in the field instead of failing.  The host lists
its isofuse mounts with the same code, so both sides are treated alike.
"""

import json
import os
import shutil
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus as corpus_mod  # noqa: E402
import vm_support  # noqa: E402
from mountutil import mounted  # noqa: E402
from vm_support import running_guests, vm_setup  # noqa: E402,F401

TREELISTING = os.path.join(vm_support.TOOLS, "treelisting.py")

pytestmark = pytest.mark.vm

IMAGES = ["xorriso-rr-joliet", "xorriso-rr112", "genisoimage-rr",
          "plain-level1", "plain-level2", "joliet-only", "iso9660-1999",
          "pycdlib-rr112"]
VIEWS = {"rr": (), "norock": ("norock",)}

# --------------------------------------------------------------------------
# the listing code run in the guest (and, exec'd, on the host)

GUEST_SCRIPT = r'''
"""Runs in the tools/vm guest (chrooted into the host root) with the host's
python: mounts each step's device with the kernel (mount -t iso9660) or with
isofuse (in the foreground, unmounted again with fusermount3), lists it with
a fault-tolerant copy of treelisting.py and prints one JSON object."""
import errno
import importlib.util
import json
import os
import subprocess
import sys
import time


def load_treelisting(path):
    """A private copy of treelisting whose readlink and sha256 put "!ERRNO"
    into the field when the filesystem refuses (the shared module is not
    touched)."""
    spec = importlib.util.spec_from_file_location("treelisting_tolerant", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def failed(exc):
        return "!" + errno.errorcode.get(exc.errno, str(exc.errno))

    real_sha256 = mod._sha256

    def sha256(path):
        try:
            return real_sha256(path)
        except OSError as exc:
            return failed(exc)

    class _OS:
        def __getattr__(self, name):
            return getattr(os, name)

        @staticmethod
        def readlink(path):
            try:
                return os.readlink(path)
            except OSError as exc:
                return failed(exc)

    mod._sha256 = sha256
    mod.os = _OS()
    return mod


def is_mounted(path):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == path for line in f)


def kernel_step(tl, step, mnt):
    opts = ",".join(["ro"] + step["options"])
    proc = subprocess.run(["mount", "-t", "iso9660", "-o", opts,
                           step["device"], mnt], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        return {"error": "mount -o %s: %s" % (opts, proc.stdout.strip())}
    try:
        return {"lines": tl.format_rows(tl.listing(mnt), tl.FIELDS)}
    finally:
        subprocess.run(["umount", mnt])


def isofuse_step(tl, step, mnt):
    argv = step["isofuse"] + ["mount", "-f", step["device"], mnt]
    if step["options"]:
        argv += ["-o", ",".join(step["options"])]
    log = mnt + ".log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
    out = {}
    try:
        deadline = time.monotonic() + 30
        while not is_mounted(mnt):
            if proc.poll() is not None or time.monotonic() > deadline:
                out["error"] = "isofuse did not mount"
                break
            time.sleep(0.05)
        else:
            out["lines"] = tl.format_rows(tl.listing(mnt), tl.FIELDS)
    finally:
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", mnt])
        try:
            out["exit"] = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out["exit"] = proc.wait()
        out["still_mounted"] = is_mounted(mnt)
        with open(log, "rb") as f:
            out["log"] = f.read().decode("utf-8", "replace")
    return out


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    tl = load_treelisting(spec["treelisting"])
    results = {}
    for i, step in enumerate(spec["steps"]):
        mnt = "/tmp/kernel-compare/%d" % i
        os.makedirs(mnt, exist_ok=True)
        run = kernel_step if step["how"] == "kernel" else isofuse_step
        try:
            results[step["name"]] = run(tl, step, mnt)
        except Exception as exc:
            results[step["name"]] = {"error": repr(exc)}
    with open("/proc/mounts") as f:
        results["_fuse_mounts_left"] = [line for line in f
                                        if line.split()[2].startswith("fuse")]
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''

_lib = {"__name__": "kernel_compare_guest"}
exec(compile(GUEST_SCRIPT, "GUEST_SCRIPT", "exec"), _lib)
tolerant = _lib["load_treelisting"](TREELISTING)
FIELDS = tolerant.FIELDS


def isofuse_argv():
    """How the guest starts isofuse: the installed console script next to
    the host's python (first on the guest's PATH), else python -m."""
    script = os.path.join(os.path.dirname(os.path.abspath(sys.executable)),
                          "isofuse")
    if os.path.exists(script):
        return [script]
    return [os.path.abspath(sys.executable), "-m", "isofuse.cli.main"]


def run_guest_steps(images, steps, timeout=300):
    """One boot: images attached as /dev/sr0, ...; returns {step name: result}."""
    spec = {"treelisting": TREELISTING, "steps": steps}
    start = time.monotonic()
    result = vm_support.run_in_vm(
        '"$VM_PYTHON" "$VM_CTL/kernel_compare.py" "$VM_CTL/spec.json"',
        images=images, timeout=timeout,
        files={"kernel_compare.py": GUEST_SCRIPT, "spec.json": json.dumps(spec)})
    print("boot: %.1fs" % (time.monotonic() - start))
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    for name, res in out.items():
        if not name.startswith("_"):
            assert "error" not in res, (name, res)
    # every guest-side FUSE mount was unmounted before the guest powered off
    assert out["_fuse_mounts_left"] == [], out["_fuse_mounts_left"]
    return out


def host_isofuse_lines(image, options, mnt):
    with mounted(image, mnt, [",".join(options)] if options else []):
        return tolerant.format_rows(tolerant.listing(str(mnt)), FIELDS)


def by_path(lines):
    return {line.split("\t")[0]: dict(zip(FIELDS, line.split("\t")))
            for line in lines}


def differences(isofuse_lines, kernel_lines):
    """{(path, field, isofuse value, kernel value)} for entries on both sides,
    plus (path, "only isofuse"/"only kernel") for entries on one side."""
    a, b = by_path(isofuse_lines), by_path(kernel_lines)
    out = set()
    for path in set(a) | set(b):
        if path not in b:
            out.add((path, "only isofuse"))
        elif path not in a:
            out.add((path, "only kernel"))
        else:
            out |= {(path, f, a[path][f], b[path][f]) for f in FIELDS
                    if a[path][f] != b[path][f]}
    return out


# --------------------------------------------------------------------------
# the expected differences, each with its reason

RICH = ("xorriso-rr-joliet", "xorriso-rr112", "genisoimage-rr")

#: README: dates after 2038.  The rich tree's "future" file has mtime
#: 2039-09-20 (corpus.AFTER_2038).  isofuse reads it as recorded; Linux 6.1's
#: iso_date() computes the time in a 32-bit int, so the kernel shows it
#: wrapped by 2**32 (negative).  This holds for the Rock Ridge TF entry and
#: for the directory record date the Joliet view uses, so both views.
FUTURE = ("future", "mtime", str(corpus_mod.AFTER_2038),
          str(corpus_mod.AFTER_2038 - 2 ** 32))

#: README: hard links share an inode with isofuse (RRIP 1.12 serial number or
#: RRIP 1.10 shared extent), the kernel gives each directory entry its own
#: inode.  treelisting's hardlink field names the first path of the group
#: ("hardlink-elsewhere" sorts first), so the other two names differ; the
#: nlink field (3) is the same on both sides.  Joliet has no link counts.
HARDLINKS = {("links/hardlink", "hardlink", "hardlink-elsewhere", "links/hardlink"),
             ("links/original", "hardlink", "hardlink-elsewhere", "links/original")}

#: Not in the README's list (yet): device 259,70000 in a PN entry with a zero
#: high half.  xorriso stores the whole glibc dev_t (0x11110370) in the low
#: half; isofuse decodes it with the glibc encoding and gets the source's
#: device back, the kernel (rock.c) decodes it as an old 8:8 dev_t and keeps
#: only minor 0x70 = 112 (the major is 259 by accident of truncation).
#: genisoimage writes major/minor into the two halves: no difference there.
BIG_MINOR = ("dev/big-minor", "rdev", "259,70000", "259,112")

#: README: genisoimage's long symbolic link.  Its SL entry, in a continuation
#: area, has a wrong length; the kernel's Rock Ridge parse of that entry
#: fails, so it loses the NM name too (shows the ISO 9660 name "long_300",
#: still a symlink from PX) and readlink gives EIO.  isofuse shows
#: "links/long-300" with the right target.
#: README: rr_moved is hidden by isofuse; the kernel lists it (empty-looking,
#: its relocated child appears at its real place on both sides).
GENISOIMAGE_RR = {("links/long-300", "only isofuse"),
                  ("links/long_300", "only kernel"),
                  ("rr_moved", "only kernel")}


def expected_differences(name, view):
    diffs = set()
    if name in RICH:
        diffs.add(FUTURE)
        if view == "rr":
            diffs |= HARDLINKS
    if name in ("xorriso-rr-joliet", "xorriso-rr112") and view == "rr":
        diffs.add(BIG_MINOR)
    if name == "genisoimage-rr" and view == "rr":
        diffs |= GENISOIMAGE_RR
    return diffs


def check_one_sided_entries(name, view, isofuse_lines, kernel_lines, source):
    """The entries on one side only are what the reasons above say."""
    if not (name == "genisoimage-rr" and view == "rr"):
        return
    mine, kern = by_path(isofuse_lines), by_path(kernel_lines)
    link = kern["links/long_300"]
    assert (link["type"], link["target"]) == ("l", "!EIO"), link
    assert mine["links/long-300"]["target"] == \
        os.readlink(os.path.join(source, "links", "long-300"))
    assert {k: v for k, v in mine["links/long-300"].items()
            if k not in ("path", "target")} == \
        {k: v for k, v in link.items() if k not in ("path", "target")}
    assert kern["rr_moved"]["type"] == "d"
    assert not [p for p in kern if p.startswith("rr_moved/")]


def options_for(item, view):
    return list(item.mount_options) + list(VIEWS[view])


# --------------------------------------------------------------------------
# 1. corpus images: kernel (guest) against isofuse (host), one boot


@pytest.fixture(scope="module")
def kernel_views(vm_setup, corpus):
    """{(image name, view): kernel listing lines}, made in one boot."""
    images = [corpus[name].image for name in IMAGES]
    steps = [{"name": "%s/%s" % (name, view), "how": "kernel",
              "device": "/dev/sr%d" % i,
              "options": options_for(corpus[name], view)}
             for i, name in enumerate(IMAGES) for view in VIEWS]
    out = run_guest_steps(images, steps)
    return {(name, view): out["%s/%s" % (name, view)]["lines"]
            for name in IMAGES for view in VIEWS}


@pytest.fixture(scope="module")
def host_views(corpus, tmp_path_factory):
    """{(image name, view): isofuse listing lines} on the host."""
    base = tmp_path_factory.mktemp("kernel-compare-host")
    return {(name, view): host_isofuse_lines(
                corpus[name].image, options_for(corpus[name], view),
                base / ("%s-%s" % (name, view)))
            for name in IMAGES for view in VIEWS}


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("name", IMAGES)
def test_host_isofuse_equals_kernel(corpus, kernel_views, host_views, name, view):
    mine, kern = host_views[(name, view)], kernel_views[(name, view)]
    assert len(kern) > 3
    assert differences(mine, kern) == expected_differences(name, view)
    check_one_sided_entries(name, view, mine, kern, corpus[name].source)


# --------------------------------------------------------------------------
# 2. isofuse inside the guest on /dev/sr0 against the kernel on /dev/sr0

BLOCK_IMAGES = ["genisoimage-rr", "xorriso-rr112"]     # /dev/sr0, /dev/sr1


@pytest.fixture(scope="module")
def guest_block_device(vm_setup, corpus):
    steps = []
    for i, name in enumerate(BLOCK_IMAGES):
        for view in VIEWS:
            for how in ("kernel", "isofuse"):
                steps.append({"name": "%s/%s/%s" % (name, view, how),
                              "how": how, "device": "/dev/sr%d" % i,
                              "options": options_for(corpus[name], view),
                              "isofuse": isofuse_argv()})
    return run_guest_steps([corpus[name].image for name in BLOCK_IMAGES], steps)


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("name", BLOCK_IMAGES)
def test_guest_isofuse_on_block_device_equals_kernel(corpus, guest_block_device,
                                                     host_views, name, view):
    res = guest_block_device["%s/%s/isofuse" % (name, view)]
    assert res["exit"] == 0 and not res["still_mounted"], res
    assert "Traceback" not in res["log"], res["log"]
    mine = res["lines"]
    kern = guest_block_device["%s/%s/kernel" % (name, view)]["lines"]
    assert differences(mine, kern) == expected_differences(name, view)
    check_one_sided_entries(name, view, mine, kern, corpus[name].source)
    # reading through /dev/srN gives what reading the image file gives
    assert mine == host_views[(name, view)]


# --------------------------------------------------------------------------
# 3. a disc grown by xorriso in two sessions


def _file(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(data)
    os.utime(path, (corpus_mod.T0, corpus_mod.T0))


@pytest.fixture(scope="module")
def multisession(tmp_path_factory):
    """img.iso grown in two sessions; "newest" is the tree the second session
    should show (the first one's files, updated and extended, without /old),
    "first" the first session's tree."""
    base = str(tmp_path_factory.mktemp("multisession"))
    s1, s2 = os.path.join(base, "s1"), os.path.join(base, "s2")
    _file(os.path.join(s1, "keep.txt"), "kept from session 1\n")
    _file(os.path.join(s1, "old"), "removed in session 2\n")
    _file(os.path.join(s1, "changed.txt"), "v1\n")
    _file(os.path.join(s1, "dir", "a"), "a\n")
    _file(os.path.join(s2, "new.txt"), "new in session 2\n")
    _file(os.path.join(s2, "changed.txt"), "version two, longer\n")
    _file(os.path.join(s2, "dir", "b"), "b\n")
    img = os.path.join(base, "img.iso")
    corpus_mod.run(["xorriso", "-dev", img, "-joliet", "on",
                    "-map", s1, "/", "-commit"])
    corpus_mod.run(["xorriso", "-dev", img, "-joliet", "on",
                    "-map", s2, "/", "-rm", "/old", "--", "-commit"])
    newest = os.path.join(base, "newest")
    shutil.copytree(s1, newest)
    shutil.copytree(s2, newest, dirs_exist_ok=True)
    os.unlink(os.path.join(newest, "old"))
    return {"image": img, "newest": newest, "first": s1}


@pytest.fixture(scope="module")
def guest_multisession(vm_setup, multisession):
    steps = [{"name": "%s/%s" % (view, how), "how": how, "device": "/dev/sr0",
              "options": list(VIEWS[view]), "isofuse": isofuse_argv()}
             for view in VIEWS for how in ("kernel", "isofuse")]
    steps.append({"name": "session0/isofuse", "how": "isofuse",
                  "device": "/dev/sr0", "options": ["session=0"],
                  "isofuse": isofuse_argv()})
    return run_guest_steps([multisession["image"]], steps)


CONTENT = ("path", "type", "size", "sha256")


def project(lines, fields=CONTENT):
    return ["\t".join(r[f] for f in fields) for r in
            (dict(zip(FIELDS, line.split("\t"))) for line in lines)]


@pytest.mark.parametrize("view", list(VIEWS))
def test_multisession_newest_session(multisession, guest_multisession, view):
    """The kernel reads the descriptors at sector 16 (an image attached as a
    CD-ROM is a single-track disc to it, no XA multisession), which xorriso's
    growing mode rewrites as a copy of the newest session's; isofuse finds
    the sessions behind each other and takes the newest.  Same tree."""
    kern = guest_multisession["%s/kernel" % view]["lines"]
    res = guest_multisession["%s/isofuse" % view]
    assert res["exit"] == 0 and "Traceback" not in res["log"], res
    assert differences(res["lines"], kern) == set()
    expected = tolerant.format_rows(tolerant.listing(multisession["newest"]),
                                    FIELDS)
    assert project(kern) == project(expected)


def test_multisession_first_session_through_device(multisession,
                                                   guest_multisession):
    """session=0 on the block device shows the first session (with /old)."""
    res = guest_multisession["session0/isofuse"]
    assert res["exit"] == 0 and "Traceback" not in res["log"], res
    expected = tolerant.format_rows(tolerant.listing(multisession["first"]),
                                    FIELDS)
    assert project(res["lines"]) == project(expected)


def test_no_guest_or_mount_left(vm_setup):
    assert running_guests() == []
    with open("/proc/mounts") as f:
        assert not [line for line in f if "kernel-compare" in line
                    and line.split()[2].startswith("fuse")]
