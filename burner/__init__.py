"""isofuse-burn: write images and staging trees to CD/DVD/BD drives over SCSI MMC.

Layers, each importable alone (lower layers know nothing of higher ones):

* ``transport`` / ``sgio``  -- send a CDB, get data or sense back (SG_IO).
* ``sense``                 -- sense data decoded into a typed ``ScsiError``.
* ``mmc``, ``pages``, ``profiles``, ``features``, ``performance``, ``layers``
                            -- CDB builders and reply parsers (pure).
* ``sim`` and ``sim*``      -- a simulated drive behind the same transport;
  ``tcmu`` serves it as a real SCSI LUN of a Linux kernel (docs/tcmu.md).
* ``drive``, ``recorder``, ``closing``, ``formatting``, ``verification``,
  ``copying``, ``descriptorblock`` -- drive logic per medium profile.
* ``sources`` (what is burned; folders mastered by isofuse.master.session),
  ``progress``, ``discovery``, ``cli*`` and ``dialects/`` (cdrecord, wodim,
  growisofs, xorrecord command lines) -- the ``isofuse-burn`` command.
* ``driveprobe`` -- what isofuse stage asks of a drive, reached through the
  ``isofuse.drive_probe`` entry point (isofuse itself never imports burner).
"""
