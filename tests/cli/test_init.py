"""`hosted init [TEMPLATE]` through the real entry point: templates shipped in the package, written
as commented starter profiles that validate, never over an existing file without --force."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hosted import templates
from hosted.cli.init_cmd import environment_name
from hosted.cli.main import main
from hosted.profile import load_profile

TEMPLATES = ["debian-12", "minimal", "test-guest", "ubuntu-24.04", "workshop"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "my project"
    directory.mkdir()
    monkeypatch.chdir(directory)
    guest = tmp_path / "test-guest"  # what scripts/test-guest/stage.sh leaves
    (guest / "ssh").mkdir(parents=True)
    (guest / "test-guest.iso").write_bytes(b"iso")
    (guest / "ssh" / "test_key").write_text("key")
    monkeypatch.setenv("HOSTED_TEST_GUEST", str(guest))
    return directory


def test_the_package_ships_the_templates() -> None:
    assert templates.names() == TEMPLATES
    assert templates.DEFAULT in TEMPLATES
    for name in TEMPLATES:
        assert templates.text(name).startswith(f"# {name}: "), "the first line is the summary"
        assert "\nname: " in templates.text(name) and "\nversion: 1\n" in templates.text(name)


def test_list_shows_every_template_and_the_default(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "init", "--list")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == TEMPLATES
    assert "Ubuntu 24.04 LTS from Canonical's official cloud image" in out
    assert [line for line in lines if line.endswith("(default)")] == [
        line for line in lines if line.startswith(templates.DEFAULT)]
    assert not (project / "hosted.yaml").exists()


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_is_written_and_validates(project: Path, capsys: pytest.CaptureFixture[str],
                                                 template: str) -> None:
    code, out = run(capsys, "init", template)
    assert code == 0, out
    written = project / "hosted.yaml"
    assert f"wrote {written} from template '{template}' (environment 'my-project')" in out
    assert written.read_text().startswith(f"# {template}: "), "comments are kept"
    code, out = run(capsys, "validate")
    assert code == 0, out
    assert f"ok {written}: environment 'my-project'" in out


def test_official_images_use_the_publishers_checksum_file(project: Path) -> None:
    for template in ("debian-12", "ubuntu-24.04", "workshop"):
        assert main(["init", template, "--force"]) == 0
        env = load_profile(project / "hosted.yaml")
        for image in env.images:
            assert image.sha256 is None and image.sha256_file is not None
            assert image.sha256_file.endswith("/SHA256SUMS")
            assert image.sha256_file.rsplit("/", 1)[0] == image.source.rsplit("/", 1)[0], \
                "the list and the image come from the same directory"
            assert image.source.startswith("https://")
        assert all(m.image for m in env.machines)


def test_the_default_template(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "init")[0] == 0
    env = load_profile(project / "hosted.yaml")
    assert env.name == "my-project" and [m.name for m in env.machines] == ["dev"]
    assert env.images[0].cloud_init and "noble" in env.images[0].source


def test_an_existing_profile_is_not_overwritten(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = project / "hosted.yaml"
    mine.write_text("# mine\n")
    code, out = run(capsys, "init", "minimal")
    assert code == 2
    assert f"error: {mine} already exists; nothing was written" in out and "--force" in out
    assert mine.read_text() == "# mine\n"
    code, out = run(capsys, "init", "minimal", "--force")
    assert code == 0 and mine.read_text().startswith("# minimal: ")


def test_where_it_writes(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "lab"
    other.mkdir()
    assert run(capsys, "init", "minimal", "-f", str(other))[0] == 0
    assert load_profile(other / "hosted.yaml").name == "lab", "named after its own directory"
    assert run(capsys, "init", "minimal", "-f", str(other / "second.yaml"), "--name", "lab2")[0] == 0
    assert load_profile(other / "second.yaml").name == "lab2"
    mode = stat.S_IMODE((other / "second.yaml").stat().st_mode)
    assert mode == 0o666 & ~_umask(), oct(mode)
    code, out = run(capsys, "init", "-f", str(tmp_path / "missing" / "hosted.yaml"))
    assert code == 2 and "is not a directory; nothing was written" in out
    assert sorted(other.iterdir()) == [other / "hosted.yaml", other / "second.yaml"], "no temporary left"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize(("argv", "message", "hint"), [
    (["init", "ubuntu"], "no template named 'ubuntu'", "Did you mean 'ubuntu-24.04'?"),
    (["init", "fedora"], "no template named 'fedora'", "hosted init --list"),
    (["init", "minimal", "--name=a b"], "'a b' is not a valid environment name", "letters, digits"),
])
def test_invalid_input_exits_2(project: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                               message: str, hint: str) -> None:
    code, out = run(capsys, *argv)
    assert code == 2
    assert f"error: {message}" in out and hint in out
    assert not (project / "hosted.yaml").exists()


def test_the_test_guest_template_says_what_to_build(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HOSTED_TEST_GUEST")
    assert run(capsys, "init", "test-guest")[0] == 0
    assert "scripts/test-guest/stage.sh" in (project / "hosted.yaml").read_text()
    code, out = run(capsys, "validate")
    assert code == 2 and "environment variable HOSTED_TEST_GUEST is not set" in out


@pytest.mark.parametrize(("directory", "name"), [
    ("my project", "my-project"), ("web_app.v2", "web_app.v2"), ("__x__", "x"), ("日本", "minimal"),
    ("-lab-", "lab"),
])
def test_environment_name_from_the_directory(directory: str, name: str) -> None:
    assert environment_name(Path("/tmp") / directory, "minimal") == name


def test_init_in_a_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    proc = subprocess.run([sys.executable, "-m", "hosted", "init", "minimal"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "hosted.yaml").is_file()
    proc = subprocess.run([sys.executable, "-m", "hosted", "validate"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "1 machine(s): main" in proc.stdout
