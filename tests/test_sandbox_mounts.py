"""scripts/vbox-host/common.sh: the sandbox's bind mount of a checkout follows
the checkout when it is deleted and made again at the same path (a CI clone),
instead of showing the deleted directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

COMMON = Path(__file__).resolve().parents[1] / "scripts" / "vbox-host" / "common.sh"

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="the sandbox scripts are Linux-only"),
    pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="bind mounts need root"),
    pytest.mark.skipif(os.environ.get("HOSTED_SANDBOX") == "1", reason="runs on the host, not in the chroot"),
]


def _bind(root: Path, directory: Path) -> subprocess.CompletedProcess[str]:
    script = f'. "{COMMON}"; hv_bind_dir "$1"'
    return subprocess.run(
        ["bash", "-c", script, "bash", str(directory)],
        env={**os.environ, "HOSTED_VBOX_ROOT": str(root)},
        capture_output=True, text=True, encoding="utf-8", check=False,
    )


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def test_a_checkout_made_again_at_the_same_path_is_bound_again() -> None:
    # Outside /tmp: hv_bind_dir leaves /tmp/* to the base mounts.
    base = Path(os.environ.get("HOSTED_TEST_MOUNT_BASE", "/var/tmp"))
    if not base.is_dir():
        pytest.skip(f"{base} does not exist")
    area = Path(tempfile.mkdtemp(prefix="hosted-mount-test-", dir=base))
    root = area / "chroot"
    checkout = area / "checkout"
    (root / "proc").mkdir(parents=True)
    checkout.mkdir()
    (checkout / "marker").write_text("first", encoding="utf-8")
    inside = root / str(checkout).lstrip("/")
    try:
        first = _bind(root, checkout)
        if first.returncode != 0 and "Operation not permitted" in first.stderr:
            pytest.skip("mount is not permitted here")
        assert first.returncode == 0, first.stderr
        assert (inside / "marker").read_text(encoding="utf-8") == "first"

        # The clone is deleted and made again at the same path.
        shutil.rmtree(checkout)
        checkout.mkdir()
        (checkout / "marker").write_text("second", encoding="utf-8")
        assert not (inside / "marker").exists()  # the old mount shows the deleted directory

        again = _bind(root, checkout)
        assert again.returncode == 0, again.stderr
        assert "re-binding" in again.stderr
        assert (inside / "marker").read_text(encoding="utf-8") == "second"

        # A current mount is left as it is.
        third = _bind(root, checkout)
        assert third.returncode == 0 and "re-binding" not in third.stderr
    finally:
        for _ in range(3):
            _umount(inside)
        shutil.rmtree(area, ignore_errors=True)
