"""Images made by `isofuse master`, read by the real Linux kernel (Debian's
6.1 in a QEMU guest, tools/vm): the kernel's listing equals the source tree,
apart from the kernel's own documented limits."""

import subprocess

import pytest

import corpus as corpus_mod
from mountutil import ISOFUSE
from treelisting import format_rows, listing
from vm_support import kernel_listings_by_image, listing_request, vm_setup  # noqa: F401

pytestmark = pytest.mark.vm

FIELDS = ("path", "type", "mode", "uid", "gid", "size", "mtime", "nlink", "rdev", "target",
          "sha256")
CONTENT = ("path", "type", "size", "sha256")


def master(*args):
    subprocess.run(ISOFUSE + ["master", "-quiet", *map(str, args)], check=True,
                   stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    work = tmp_path_factory.mktemp("masterkernel")
    rich = corpus_mod.make_rich_tree(str(work / "rich"))
    joliet = corpus_mod.make_joliet_tree(str(work / "joliet"))
    plain = corpus_mod.make_plain_tree(str(work / "plain"))
    made = {
        "rr-joliet": (work / "rr.iso", rich, ["-R", "-J", "-iso-level", "2"]),
        "rr112": (work / "rr112.iso", rich, ["-R", "-rrip-1.12", "-iso-level", "3"]),
        "joliet": (work / "joliet.iso", joliet, ["-J", "-iso-level", "2"]),
        "plain": (work / "plain.iso", plain, []),
    }
    for path, source, options in made.values():
        master(*options, "-o", path, source)
    return made


@pytest.fixture(scope="module")
def kernel(vm_setup, images):  # noqa: F811
    requests = {}
    for name, (path, _, _) in images.items():
        requests[(name, "default")] = listing_request(str(path))
    requests[("rr-joliet", "norock")] = listing_request(str(images["rr-joliet"][0]),
                                                        norock=True)
    got = kernel_listings_by_image(list(requests.values()), fields=list(FIELDS))
    return {key: got[request] for key, request in requests.items()}


def rows(lines):
    return {line.split("\t")[0]: dict(zip(FIELDS, line.split("\t"))) for line in lines}


def test_rock_ridge_image_as_the_kernel_sees_it(images, kernel):
    for name in ("rr-joliet", "rr112"):
        _, source, _ = images[name]
        got = rows(kernel[(name, "default")])
        want = rows(format_rows(listing(source), FIELDS))
        # rr_moved carries RE (as libisofs writes it), so the kernel hides
        # it; every moved directory is at its real place (below).
        assert set(got) - set(want) == set(), name
        assert set(want) - set(got) == set(), name
        # Every field, link counts included (2 + subdirectories for folders,
        # the names inside the image for hard-linked files).
        for path, expected in want.items():
            mine = dict(got[path])
            expected = dict(expected)
            if path == "future":
                # Linux 6.1 computes dates in 32 bits: after 2038 it goes negative
                assert int(mine["mtime"]) < 0
                mine["mtime"] = expected["mtime"]
            if path == "dev/big-minor":
                # the kernel decodes a zero-high PN as an 8:8 device number
                assert mine["rdev"] == "259,112"
                mine["rdev"] = expected["rdev"]
            assert mine == expected, (name, path)


def test_joliet_and_plain_images_as_the_kernel_sees_them(images, kernel):
    for name in ("joliet", "plain"):
        _, source, _ = images[name]
        got = format_rows([dict(zip(FIELDS, line.split("\t"))) for line in kernel[(name,
                                                                                   "default")]],
                          CONTENT)
        assert got == format_rows(listing(source), CONTENT), name
    # The Joliet tree of the Rock Ridge image: every file and folder (no
    # links, devices, FIFOs), names cut to Joliet's 64 characters.
    _, source, _ = images["rr-joliet"]
    got = [dict(zip(FIELDS, line.split("\t"))) for line in kernel[("rr-joliet", "norock")]]
    want = [r for r in listing(source) if r["type"] in "fd"]
    assert sorted((r["type"], r["sha256"]) for r in got) == \
        sorted((r["type"], r["sha256"]) for r in want)
    short = [r["path"] for r in want if all(len(p) <= 64 for p in r["path"].split("/"))]
    assert set(short) <= {r["path"] for r in got}
    assert len(got) == len(want)
