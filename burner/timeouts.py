"""Named timeouts per command class, in seconds.

The values follow the established burners (libburn, growisofs, wodim): 30 s
for anything quick, 200 s for commands that may wait for the drive to write
its buffer out, and long limits for the ones that work on the whole disc.
Closing and syncing use the Immed bit, so they return at once and we poll
TEST UNIT READY instead of holding one command open for hours.
"""

DEFAULT = 30          # probing, mode pages, speed, lock, eject
WRITE = 200           # WRITE(10): the drive may hold it while its buffer drains
READ = 60             # READ(10): a scratched disc retries internally for a while
SYNC = 200            # SYNCHRONIZE CACHE (Immed)
CLOSE = 200           # CLOSE TRACK/SESSION (Immed)
BLANK = 200           # BLANK with Immed; progress is polled
FORMAT = 200          # FORMAT UNIT with Immed; progress is polled
RESERVE = 200         # RESERVE TRACK

# How long we keep polling a drive that says "in progress" after an Immed
# command or while it writes a long-write storm out.
POLL_BLANK_ALL = 3 * 3600   # a full blank of a slow CD-RW
POLL_FORMAT = 3 * 3600      # a full BD-RE format
POLL_CLOSE = 30 * 60        # finalizing a DVD+R can take minutes
POLL_WRITE_BUSY = 120       # "long write in progress" on one WRITE
POLL_READY = 60             # becoming ready after media insertion
