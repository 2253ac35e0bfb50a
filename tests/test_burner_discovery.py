"""Drive discovery: udev's ID_CDROM* properties (as systemd's cdrom_id
writes them, names from shared/reference.md), and the /dev/sr* fallback
where there is no udev database (this machine, containers, CI)."""

from burner import discovery


def test_udev_properties_become_abilities_and_media():
    props = {
        "DEVNAME": "/dev/sr0", "ID_CDROM": "1", "ID_CDROM_CD": "1", "ID_CDROM_CD_R": "1",
        "ID_CDROM_CD_RW": "1", "ID_CDROM_DVD": "1", "ID_CDROM_DVD_PLUS_R": "1",
        "ID_CDROM_DVD_PLUS_RW": "1", "ID_CDROM_BD_R": "0",
        "ID_CDROM_MEDIA": "1", "ID_CDROM_MEDIA_CD_R": "1",
        "ID_CDROM_MEDIA_STATE": "appendable", "ID_CDROM_MEDIA_SESSION_COUNT": "1",
        "ID_CDROM_MEDIA_SESSION_NEXT": "11700", "ID_CDROM_MEDIA_SESSION_LAST_OFFSET": "0",
    }
    summary = discovery.udev_summary(props)
    assert summary["abilities"] == ["CD", "CD_R", "CD_RW", "DVD", "DVD_PLUS_R",
                                    "DVD_PLUS_RW"]
    assert summary["media"]["state"] == "appendable"
    assert summary["media"]["session_next"] == "11700"
    assert summary["media"]["session_count"] == "1"


def test_without_udev_the_device_nodes_are_probed(monkeypatch):
    monkeypatch.setattr(discovery, "udev_drives", lambda: {})
    monkeypatch.setattr(discovery.glob, "glob",
                        lambda pattern: ["/dev/sr1", "/dev/sr0"] if pattern == "/dev/sr[0-9]*"
                        else [])
    nodes, found = discovery.candidate_devices()
    assert nodes == ["/dev/sr0", "/dev/sr1"] and found == {}


def test_udev_drives_are_preferred_when_udev_knows_them(monkeypatch):
    monkeypatch.setattr(discovery, "udev_drives",
                        lambda: {"/dev/sr2": {"ID_CDROM": "1"}})
    nodes, found = discovery.candidate_devices()
    assert nodes == ["/dev/sr2"] and "/dev/sr2" in found

