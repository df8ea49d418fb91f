"""3FS (Fire-Flyer File System) operations; ``fireflyer.fs3.bench`` measures a mount against its figures."""
