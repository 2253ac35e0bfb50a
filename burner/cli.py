"""``isofuse-burn`` command line.  Burning is not implemented yet: the command
says so plainly and exits non-zero instead of pretending."""

import argparse
import sys

EXIT_NOT_AVAILABLE = 3


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="isofuse-burn",
        description="Write a staging tree or an image to a CD/DVD/BD drive over "
                    "SCSI MMC. Not available yet in this version of isofuse.")
    parser.parse_args(argv)
    print("isofuse-burn: burning is not available yet in this version of isofuse",
          file=sys.stderr)
    return EXIT_NOT_AVAILABLE


if __name__ == "__main__":
    sys.exit(main())
