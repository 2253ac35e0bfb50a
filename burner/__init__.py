"""isofuse-burn: write images and staging trees to CD/DVD/BD drives over SCSI MMC.

Layers, each importable alone (lower layers know nothing of higher ones):

* ``transport`` / ``sgio``  -- send a CDB, get data or sense back (SG_IO).
* ``sense``                 -- sense data decoded into a typed ``ScsiError``.
* ``mmc``, ``pages``, ``profiles`` -- CDB builders and reply parsers (pure).
* ``sim``                   -- a simulated drive behind the same transport.
* ``drive``, ``recorder``   -- drive logic per medium profile.
* ``sources``, ``progress``, ``discovery``, ``cli`` -- the ``isofuse-burn`` command.
"""
