"""Runs inside the tools/vm guest (chrooted into the host root): mounts each
requested CD-ROM drive with the kernel's isofs driver, lists it with
treelisting.py and prints one JSON document with all listings on stdout.

Usage: python3 guest_listing.py REQUESTS.json  (written by the host; a list of
{"device", "options", "fields", "hashes"}).  Standard library only.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treelisting  # noqa: E402  (copied next to this file by the host)


def main():
    with open(sys.argv[1]) as f:
        requests = json.load(f)
    results = []
    for i, req in enumerate(requests):
        mnt = "/tmp/vm-listing/%d" % i
        os.makedirs(mnt, exist_ok=True)
        opts = ",".join(["ro"] + req["options"])
        proc = subprocess.run(["mount", "-t", "iso9660", "-o", opts,
                               req["device"], mnt],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if proc.returncode != 0:
            results.append({"error": "mount -o %s %s failed: %s" % (
                opts, req["device"], proc.stdout.strip())})
            continue
        try:
            rows = treelisting.listing(mnt, hashes=req["hashes"])
            results.append({"lines": treelisting.format_rows(rows, req["fields"])})
        except Exception as exc:  # report, and go on with the next drive
            results.append({"error": "listing %s failed: %r" % (req["device"], exc)})
        finally:
            subprocess.run(["umount", mnt])
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
