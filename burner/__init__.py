"""isofuse-burn: writing images to optical drives over SCSI MMC (SG_IO).

Planned layers: transport (SG_IO) -> SCSI/MMC commands -> drive logic -> CLI.
Nothing is implemented yet; see the project's issues.
"""
