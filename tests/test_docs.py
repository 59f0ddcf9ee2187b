"""The user docs: every named error has its troubleshooting entry, links lead somewhere, the
pictures are there, and the README keeps the project's two commands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from hosted import errors

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", REPO / "profiles" / "README.md", *sorted(DOCS.glob("*.md"))]


def named_errors() -> list[str]:
    return [name for name, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, errors.HostedError) and cls is not errors.HostedError]


def test_every_named_error_has_a_troubleshooting_entry() -> None:
    text = (DOCS / "troubleshooting.md").read_text()
    headings = re.findall(r"^## (\w+) \(exit (\d)", text, re.MULTILINE)
    documented = {name: int(code) for name, code in headings}
    assert len(named_errors()) >= 16
    for name in named_errors():
        assert name in documented, f"docs/troubleshooting.md has no '## {name} (exit N)' section"
        assert documented[name] == getattr(errors, name).exit_code, f"{name}: the exit code documented"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_lead_to_files_and_headings(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: link to {target}"
        if anchor and file.suffix == ".md":
            slugs = {_slug(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), re.MULTILINE)}
            assert anchor in slugs, f"{page.name}: no heading #{anchor} in {file.name}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize(("page", "must"), [
    ("troubleshooting.md", ["vm_running", "guest_network", "tcp", "ssh", "command"]),
    ("workshop.md", ["10.10.0.11", "10.10.0.12", "10.10.0.13", "127.0.0.1:8080"]),
])
def test_the_pictures(page: str, must: list[str]) -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", (DOCS / page).read_text(), re.DOTALL)
    assert blocks, f"{page} has a Mermaid picture"
    for block in blocks:
        assert block.split("\n", 1)[0].startswith("flowchart "), block[:40]
        assert block.count("[") == block.count("]") and block.count("(") == block.count(")")
    assert all(any(word in b for b in blocks) for word in must)


def test_the_readme_is_for_users_first_and_keeps_the_project_commands() -> None:
    text = (REPO / "README.md").read_text()
    for command in ("scripts/demo", "scripts/test"):
        assert f"\n{command}\n" in text, f"`{command}` stays, alone on its line, in a code block"
    start = text.index("pipx install")
    user = [text.index(s, start) for s in ("pipx install", "hosted doctor", "hosted init", "hosted up",
                                           "hosted ssh")]
    assert user == sorted(user), "install, doctor, init, up, ssh: in this order"
    assert max(user) < text.index("scripts/demo"), "the contributors' section follows the users'"
    for page in ("install.md", "from-vagrant.md", "troubleshooting.md", "workshop.md", "profile.md"):
        assert f"docs/{page}" in text
