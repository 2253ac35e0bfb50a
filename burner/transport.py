"""The transport interface: one SCSI command in, data or sense out.

A transport knows nothing of MMC.  ``execute`` sends a CDB with an optional
data-out buffer or a data-in length and returns the data the device sent;
a CHECK CONDITION becomes ``sense.ScsiError``, a failure below SCSI (kernel,
bus) ``sense.TransportError``.  Implementations: ``sgio.SgioTransport``
(Linux SG_IO) and ``sim.SimTransport`` (the simulated drive).
"""

NONE, TO_DEVICE, FROM_DEVICE = "none", "to-device", "from-device"

# The kernel refuses SG_IO transfers above the queue limit; 64 KiB is safe
# on every host adapter (reference: keep transfers <= 64 KiB).  A limit of
# the SG_IO transport, not of MMC: a drive takes any transfer length its
# CDB can state (docs/simulated-drive.md), so the simulated drive has none.
MAX_TRANSFER = 64 * 1024


class Transport:
    """Base class: subclasses implement ``_execute``.

    ``max_transfer``: the most bytes one command may move through this
    transport (None: no limit below the drive's own); a larger transfer is
    refused before anything is sent -- the drive logic splits its transfers
    to fit (``MAX_TRANSFER``), the transport does not split a CDB."""

    name = "?"
    max_transfer = None

    def execute(self, cdb, direction=NONE, data=None, length=0, timeout=30,
                name=None):
        cdb = bytes(cdb)
        if direction == TO_DEVICE and data is None:
            raise ValueError("TO_DEVICE needs data")
        size = len(data) if direction == TO_DEVICE else length
        if self.max_transfer is not None and size > self.max_transfer:
            raise ValueError(f"{self.name}: a transfer of {size} bytes exceeds this "
                             f"transport's limit of {self.max_transfer}")
        return self._execute(cdb, direction, data, length, timeout,
                             name or f"opcode {cdb[0]:02X}h")

    def _execute(self, cdb, direction, data, length, timeout, name):
        raise NotImplementedError

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RecordingTransport(Transport):
    """Wraps another transport and keeps every CDB sent (golden sequences)."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.max_transfer = inner.max_transfer
        self.log = []   # (cdb bytes, data-out bytes or None, ok: bool)

    def execute(self, cdb, direction=NONE, data=None, length=0, timeout=30, name=None):
        # Through the inner transport's public door: it checks and names the
        # command itself.
        cdb = bytes(cdb)
        sent = bytes(data) if direction == TO_DEVICE and cdb[0] != 0x2A else None
        try:
            out = self.inner.execute(cdb, direction, data, length, timeout, name)
        except Exception:
            self.log.append((cdb, sent, False))
            raise
        self.log.append((cdb, sent, True))
        return out

    def close(self):
        self.inner.close()
