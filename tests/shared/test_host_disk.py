"""fireflyer.host.disk_space / check_disk: room on the file system, refused before writing."""

from __future__ import annotations

import os

import pytest

from fireflyer import host
from fireflyer.errors import InputError


def test_disk_space_matches_statvfs(tmp_path):
    space = host.disk_space(tmp_path)
    st = os.statvfs(tmp_path)
    assert space.total_bytes == st.f_blocks * st.f_frsize and 0 <= space.free_bytes <= space.total_bytes
    assert space.free_inodes is None or space.free_inodes >= 0


def test_check_disk_refuses_what_does_not_fit(tmp_path):
    assert host.check_disk(tmp_path, 1, "a byte").free_bytes >= 1
    with pytest.raises(InputError) as e:
        host.check_disk(tmp_path, 1 << 62, "the test", field="size", hint="use less")
    assert e.value.file == str(tmp_path) and e.value.field == "size" and "GiB free" in e.value.message
    assert e.value.hint == "use less"
    if host.disk_space(tmp_path).free_inodes is not None:
        with pytest.raises(InputError, match="inodes"):
            host.check_disk(tmp_path, 0, "the test", inodes=1 << 62)
