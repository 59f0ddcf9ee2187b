"""The hosted.lab collection on real VirtualBox: a lab of three "desktops" driven by Ansible.

The collection is built with ``ansible-galaxy collection build`` and installed from its
tarball.  The inventory has three hosts that are all this machine (``connection: local``),
each with a VirtualBox of its own (``VBOX_USER_HOME``, ``VBOX_IPC_SOCKETID`` and a machine
folder, set as host variables) and hosted directories of its own.  desk1 and desk2 run the
module with the Python that has hosted (its API); desk3 with the system's Python, which has
not, so there the module runs the ``hosted`` command with ``--json``.  The playbook is the
hosted.lab.workstation role (hosted already installed), which checks ``hosted doctor``, copies
a signed bundle of a two-machine environment and applies it.

The machines are tiny and stay powered off (``state: poweroff``): creating, configuring,
cloning and deleting them is what converging means here, and no guest has to boot for that.

Then: check mode reports the plan and creates nothing; the first run converges every
desktop; a second run reports changed=0; check mode of ``state: absent`` plans the deletion
and deletes nothing; ``state: absent`` leaves no machine behind; and a desktop whose bundle
is corrupt fails with hosted's own message while the two others converge.  The figures (hosts,
seconds per run, changes) are printed, and written to $HOSTED_LAB_FIGURES when it is set."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from vbox_fixtures import VBOXMANAGE

pytestmark = pytest.mark.vbox

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "ansible_collections" / "hosted" / "lab"
HERE = Path(__file__).resolve().parent / "lab"
BIN = Path(sys.executable).parent
DESKS = ("desk1", "desk2", "desk3")
PROFILE = """\
version: 1
name: lab
images:
  tiny: {source: ./tiny.vdi}
defaults:
  image: tiny
  memory: 64M
  nics:
    - nat:
        forwards:
          - {name: ssh, guest: 22, host: auto}
machines:
  web: {state: poweroff}
  db: {state: poweroff, memory: 96M}
"""


def desktop_environ() -> dict[str, str]:
    """This process's environment without the suite's HOSTED_DATA/CACHE/STATE_DIR (tests/conftest.py),
    which would give the three desktops one set of hosted directories."""
    return {k: v for k, v in os.environ.items() if k not in ("HOSTED_DATA_DIR", "HOSTED_CACHE_DIR",
                                                              "HOSTED_STATE_DIR")}


class Lab:
    """The three desktops' homes, the bundles and the ansible-playbook runs."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.figures: list[dict[str, Any]] = []
        self.bundles: dict[str, Path] = {}

    def home(self, desk: str) -> dict[str, str]:
        """The desktop's own VirtualBox and XDG directories (hosted's follow them, as on a real
        desktop: the suite's HOSTED_*_DIR are not passed on, see ``desktop_environ``)."""
        base = self.work / desk
        return {"VBOX_USER_HOME": str(base / "vbox"), "VBOX_IPC_SOCKETID": f"hosted-lab-{desk}-{os.getpid()}",
                "XDG_DATA_HOME": str(base / "data"), "XDG_CACHE_HOME": str(base / "cache"),
                "XDG_STATE_HOME": str(base / "state"), "XDG_RUNTIME_DIR": str(base / "run")}

    def vboxmanage(self, desk: str, *args: str) -> str:
        for attempt in range(5):
            proc = subprocess.run([VBOXMANAGE, *args], capture_output=True, text=True, timeout=120,
                                  env={**desktop_environ(), **self.home(desk)})
            if proc.returncode == 0:
                return proc.stdout
            # A client that arrives while the desktop's idle VBoxSVC shuts down is refused; the next
            # one starts a new VBoxSVC.
            time.sleep(2 + attempt)
        raise AssertionError(f"VBoxManage {' '.join(args)} on {desk}: {proc.stderr}")

    def vms(self, desk: str) -> list[str]:
        """The desktop's machines; the base image's template (hosted's image cache) left out."""
        return [n for n in self.all_vms(desk) if not n.startswith("hosted-template-")]

    def all_vms(self, desk: str) -> list[str]:
        return sorted(re.findall(r'^"(.*)" \{', self.vboxmanage(desk, "list", "vms"), re.M))

    def inventory(self) -> Path:
        hosts = {}
        for desk in DESKS:
            hosts[desk] = {
                "desktop_environment": self.home(desk),
                "hosted_bundle_src": str(self.bundles.get(desk, self.work / "lab.bundle")),
                "hosted_bundle_dir": str(self.work / desk / "bundle"),
                # desk3's Python cannot import hosted: the module runs `hosted --json` there.
                "hosted_module_python": "/usr/bin/python3" if desk == "desk3" else sys.executable,
            }
        inventory = {"all": {"children": {"lab": {"hosts": hosts, "vars": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "hosted_install": "none", "hosted_trust_src": str(self.work / "allowed_signers")}}}}}
        path = self.work / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        return path

    def play(self, label: str, *args: str) -> dict[str, Any]:
        """ansible-playbook on the three desktops; every task's result and the recap."""
        record = self.work / "record.json"
        record.unlink(missing_ok=True)
        environ = {**desktop_environ(), "ANSIBLE_COLLECTIONS_PATH": str(self.work / "collections"),
                   "ANSIBLE_CALLBACK_PLUGINS": str(HERE / "callback_plugins"),
                   "ANSIBLE_CALLBACKS_ENABLED": "record", "ANSIBLE_HOME": str(self.work / "ansible"),
                   "ANSIBLE_REMOTE_TMP": str(self.work / "ansible/tmp"), "ANSIBLE_NOCOLOR": "1",
                   "ANSIBLE_FORCE_COLOR": "0", "HOSTED_TEST_RECORD": str(record),
                   "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "160"}
        start = time.monotonic()
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(self.inventory()),
                               str(HERE / "workstations.yml"), *args],
                              capture_output=True, text=True, timeout=900, env=environ)
        seconds = time.monotonic() - start
        assert record.is_file(), f"{label}: no record\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        done = json.loads(record.read_text())
        done["stdout"], done["seconds"] = proc.stdout, seconds
        if os.environ.get("HOSTED_LAB_FIGURES"):  # each run's output beside the figures, for docs/labs.md
            slug = re.sub(r"\W+", "-", label)
            Path(f"{os.environ['HOSTED_LAB_FIGURES']}.{slug}.txt").write_text(proc.stdout, encoding="utf-8")
        self.figures.append({"run": label, "hosts": len(done["recap"]), "seconds": round(seconds, 1),
                             "changed": {h: r["changed"] for h, r in done["recap"].items()},
                             "failed": {h: r["failures"] for h, r in done["recap"].items()},
                             "task_seconds": _slowest(done["results"])})
        return done


def _slowest(results: list[dict[str, Any]]) -> dict[str, float]:
    """Each task's time, on its slowest host."""
    found: dict[str, float] = {}
    for r in results:
        found[r["task"]] = max(found.get(r["task"], 0.0), r["seconds"])
    return found


def hosted_task(done: dict[str, Any], desk: str) -> dict[str, Any]:
    found = [r for r in done["results"] if r["host"] == desk and r["action"].endswith("hosted_environment")]
    # The role stopped before the module on this desktop: say which task failed, and why.
    failed = [(r["task"], r["result"]) for r in done["results"]
              if r["host"] == desk and r["status"] in ("failed", "unreachable")]
    assert len(found) == 1, (desk, failed, done["stdout"][-3000:])
    return found[0]


def build_collection(work: Path) -> Path:
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", str(COLLECTION),
                    "--output-path", str(work / "dist")], check=True, capture_output=True, timeout=300)
    [tarball] = (work / "dist").glob("hosted-lab-*.tar.gz")
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p",
                    str(work / "collections")], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "ANSIBLE_HOME": str(work / "ansible")})
    return tarball


def make_bundles(work: Path) -> None:
    """lab.bundle, signed by the lab's key; corrupt.bundle, the same with one image byte changed."""
    profile = work / "profile"
    profile.mkdir()
    (profile / "hosted.yaml").write_text(PROFILE)
    subprocess.run([VBOXMANAGE, "createmedium", "disk", "--filename", str(profile / "tiny.vdi"),
                    "--size", "8", "--format", "VDI"], check=True, capture_output=True, timeout=120)
    subprocess.run([VBOXMANAGE, "closemedium", "disk", str(profile / "tiny.vdi")], check=True,
                   capture_output=True, timeout=120)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab", "-f", str(work / "lab_key")],
                   check=True)
    blob = (work / "lab_key.pub").read_text().split()[1]
    (work / "allowed_signers").write_text(f"teachers@lab.example ssh-ed25519 {blob}\n")
    subprocess.run([sys.executable, "-m", "hosted", "bundle", "-f", str(profile / "hosted.yaml"), "-o",
                    str(work / "lab.bundle"), "--sign", str(work / "lab_key"), "-q"], check=True, timeout=300)
    data = bytearray((work / "lab.bundle").read_bytes())
    with tarfile.open(work / "lab.bundle") as tar:
        image = next(m for m in tar.getmembers() if m.name.endswith("tiny.vdi"))
    data[image.offset_data + image.size // 2] ^= 0xFF
    (work / "corrupt.bundle").write_bytes(bytes(data))


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("lab")
    the_lab = Lab(work)
    build_collection(work)
    make_bundles(work)
    for desk in DESKS:
        for key, value in the_lab.home(desk).items():
            if key.startswith("XDG"):
                Path(value).mkdir(parents=True, mode=0o700)
        (work / desk / "vbox" / "machines").mkdir(parents=True)
        the_lab.vboxmanage(desk, "setproperty", "machinefolder", str(work / desk / "vbox" / "machines"))
    yield the_lab
    figures = json.dumps(the_lab.figures, indent=1)
    print(figures)
    if os.environ.get("HOSTED_LAB_FIGURES"):
        Path(os.environ["HOSTED_LAB_FIGURES"]).write_text(figures + "\n", encoding="utf-8")
    left = {desk: the_lab.vms(desk) for desk in DESKS}
    for desk in DESKS:
        for name in left[desk] + ["hosted-images-prune"]:
            command = ([VBOXMANAGE, "unregistervm", name, "--delete"] if name != "hosted-images-prune" else
                       # the template stays for the next `up` until the image cache is pruned
                       [sys.executable, "-m", "hosted", "images", "prune", "--all", "--yes", "-q"])
            subprocess.run(command, capture_output=True, timeout=300,
                           env={**desktop_environ(), **the_lab.home(desk)})
    left_at_all = {desk: the_lab.all_vms(desk) for desk in DESKS}
    assert left == {desk: [] for desk in DESKS}, "machines left behind"
    assert left_at_all == {desk: [] for desk in DESKS}, "templates left behind after `images prune`"


def test_three_desktops_converge_rerun_unchanged_and_are_emptied(lab: Lab) -> None:
    # Check mode: hosted's plan, and not one machine made.
    planned = lab.play("check", "--check", "--diff")
    for desk in DESKS:
        task = hosted_task(planned, desk)
        assert task["status"] == "ok", (desk, task["result"])
        result = task["result"]
        assert result["changed"] is True
        assert result["interface"] == ("cli" if desk == "desk3" else "api")
        [plan] = result["plans"]
        steps = {m["machine"]: [s["description"] for s in m["steps"] if not s["noop"]]
                 for m in plan["machines"]}
        assert any(d.startswith(("clone lab-web", "create lab-web")) for d in steps["web"]), steps
        assert {m["machine"]: m["state"] for m in result["machines"]} == {"web": "not created",
                                                                          "db": "not created"}
        assert lab.vms(desk) == []
    assert "+ web: " in planned["stdout"], "--diff shows the plan"
    assert hosted_task(planned, "desk1")["result"]["bundle"]["signer"] == "teachers@lab.example"

    # The first run converges every desktop.
    first = lab.play("first run")
    for desk in DESKS:
        task = hosted_task(first, desk)
        assert task["status"] == "ok", (desk, task["result"].get("msg"), task["result"].get("hint"))
        machines = {m["machine"]: m for m in task["result"]["machines"]}
        assert {n: m["state"] for n, m in machines.items()} == {"web": "poweroff", "db": "poweroff"}
        assert machines["web"]["steps"] and machines["web"]["ssh"]["host"] == "127.0.0.1"
        assert machines["web"]["ssh"]["port"] > 0 and machines["web"]["drift"] == []
        assert lab.vms(desk) == ["lab-db", "lab-web"]
        assert first["recap"][desk]["failures"] == 0 and first["recap"][desk]["changed"] >= 1

    # A second run changes nothing, anywhere.
    second = lab.play("second run")
    assert {d: (r["changed"], r["failures"]) for d, r in second["recap"].items()} == {
        d: (0, 0) for d in DESKS}, second["stdout"][-3000:]
    assert all(m["steps"] == [] for d in DESKS for m in hosted_task(second, d)["result"]["machines"])

    # Check mode of state: absent plans the deletion, deletes nothing.
    absent_planned = lab.play("check absent", "--check", "-e", "hosted_state=absent")
    for desk in DESKS:
        result = hosted_task(absent_planned, desk)["result"]
        assert result["changed"] is True, result
        assert sorted(m["machine"] for m in result["plans"][0]["machines"]) == ["db", "web"]
        assert lab.vms(desk) == ["lab-db", "lab-web"]

    # state: absent leaves nothing behind (that a second one is no change is tested on the double).
    absent = lab.play("absent", "-e", "hosted_state=absent")
    for desk in DESKS:
        task = hosted_task(absent, desk)
        assert task["status"] == "ok" and task["result"]["changed"] is True, (desk, task["result"])
    left = {desk: lab.vms(desk) for desk in DESKS}
    assert left == {desk: [] for desk in DESKS}, (left, {d: hosted_task(absent, d)["result"] for d in DESKS},
                                                  absent["stdout"][-4000:])


def test_a_corrupt_bundle_fails_its_desktop_and_the_others_converge(lab: Lab) -> None:
    # desk3 as a desktop that never had the bundle: one it extracted before is used from that
    # verified copy, whatever the archive now holds.
    shutil.rmtree(lab.work / "desk3" / "cache" / "hosted" / "bundles")
    lab.bundles["desk3"] = lab.work / "corrupt.bundle"
    try:
        done = lab.play("one corrupt bundle")
    finally:
        lab.bundles.clear()
    failed = hosted_task(done, "desk3")
    assert failed["status"] == "failed"
    assert "sha256" in failed["result"]["msg"] and failed["result"]["error_type"] == "BundleError", failed
    assert failed["result"]["exit_code"] == 2 and failed["result"]["hint"]
    assert lab.vms("desk3") == []
    for desk in ("desk1", "desk2"):
        assert hosted_task(done, desk)["status"] == "ok"
        assert lab.vms(desk) == ["lab-db", "lab-web"]
    assert done["recap"]["desk3"]["failures"] == 1
    lab.play("cleanup", "-e", "hosted_state=absent")
    assert {desk: lab.vms(desk) for desk in DESKS} == {desk: [] for desk in DESKS}


def test_the_role_installs_hosted_with_pip_and_applies_the_bundle(lab: Lab) -> None:
    """desk1 as a desktop without hosted: the role copies hosted's wheel (built from this checkout)
    and installs it with pip into a virtual environment of its own (its dependencies from PyPI),
    runs its `hosted doctor`, and runs the module with that environment's Python, so through
    hosted's API."""
    venv, bin_dir = lab.work / "desk1" / "hosted-venv", lab.work / "desk1" / "bin"
    bin_dir.mkdir()
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(lab.work / "wheel"), str(ROOT)], check=True, capture_output=True, timeout=600)
    [wheel] = (lab.work / "wheel").glob("hosted-*.whl")
    install = ["--limit", "desk1", "-e", json.dumps({
        "hosted_install": "pip", "hosted_package_src": str(wheel), "hosted_venv": str(venv),
        "hosted_bin_dir": str(bin_dir), "hosted_install_become": False, "hosted_install_packages": False,
        "hosted_module_python": ""})]
    done = lab.play("install with pip", *install)
    task = hosted_task(done, "desk1")
    assert task["status"] == "ok", task["result"]
    assert task["result"]["interface"] == "api" and task["result"]["changed"] is True
    assert (bin_dir / "hosted").resolve() == (venv / "bin" / "hosted").resolve()
    doctor = next(r for r in done["results"] if r["task"].endswith("with hosted doctor"))
    assert doctor["result"]["cmd"][0] == str(bin_dir / "hosted") and doctor["result"]["rc"] == 0
    assert lab.vms("desk1") == ["lab-db", "lab-web"]
    again = lab.play("install with pip, again", *install)
    assert again["recap"]["desk1"]["changed"] == 0, again["stdout"][-3000:]
    lab.play("cleanup after the install", *install[:2], "-e", "hosted_state=absent")
    assert lab.vms("desk1") == []
