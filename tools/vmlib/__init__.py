"""tools/vm: check isofuse against a real Linux kernel in a QEMU guest.

See core.py for the design and cli.py for the command line.
"""

from .core import (DEFAULT_TIMEOUT, GuestResult, VMError, VMTimeout,  # noqa: F401
                   cache_dir, kernel_listing, kernel_listings, listing_request,
                   run_in_guest, running_guests, setup)
