"""isofuse stage: the staging directory that is the future disc.

- ``staging``    the stage's operations by inode number (the facade the FUSE
                 adapter ``fuseops.stage_ops`` calls, and tests call directly);
- ``overlay``    the merged tree: upper folder over read-only layers, copy-up,
                 whiteouts (``whiteouts``), new entries made crash-safely;
- ``layers``     the read-only lower layers: folders, ISO images and discs;
- ``disc``       the model of the future disc: its exact size, the rules it
                 breaks, image.iso's layout (built in the background at mount);
- ``control``    the control directory (report, size, image.iso, msinfo);
- ``inodes``, ``handles``, ``attributes``: stable inode numbers, open files,
                 the attribute records the stage answers with.

No module here imports pyfuse3 or trio.
"""
