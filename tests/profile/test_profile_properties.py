"""Property-based tests of the profile loader: whatever the file holds, loading it gives an
Environment or a named HostedError (a ProfileError naming the file), never another exception.

Three kinds of input: profile-shaped data (the schema's own keys, values that reach every
validator) written as YAML; text from YAML's own punctuation; and a valid profile with bytes
changed.  Bounded: a few hundred examples, no deadline, no example database on disk.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hosted.errors import HostedError, ProfileError
from hosted.model import Environment
from hosted.profile import load_profile, schema

# HOSTED_PROPERTY_EXAMPLES=5000 for a longer hunt (the suite keeps to a few seconds).
BOUNDED = settings(max_examples=int(os.environ.get("HOSTED_PROPERTY_EXAMPLES", "200")), deadline=None,
                   database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

KEYS = sorted({*schema.Profile.model_fields, *schema.Machine.model_fields, *schema.Image.model_fields,
               *schema.Forward.model_fields, *schema.Nat.model_fields, *schema.NicEntry.model_fields,
               *schema.SharedFolder.model_fields, *schema.Ssh.model_fields, *schema.Ready.model_fields,
               *schema.Shell.model_fields, *schema.CopyFile.model_fields, *schema.ProvisionEntry.model_fields,
               *schema.Install.model_fields})
# Values that reach the validators: sizes, ports, addresses, paths (existing, sensitive,
# special), URLs, variables, cloud-init headers, names with a newline, control characters.
SPECIAL = ["auto", "0.0.0.0", "::", "127.0.0.1", "", "/", "~", "~/.ssh", "/dev/zero", "/dev/null", ".",
           "hosted.yaml", "2G", "512M", "1e400G", "nat", "internal", "bridged", "hostonly", "tcp", "udp",
           "running", "poweroff", "efi", "iso", "disk", "box", "once", "always", "web", "web\n", "a b",
           "http://example.org/x.box?t=${TOKEN}", "https:///x", "ftp://x/y", "file:///etc/passwd",
           "${TOKEN}", "${CPUS:-2}", "${UNSET}", "$${literal}", "${", "#cloud-config\na: [1, 2]",
           "#cloud-config\n" + "[" * 100, "#!/bin/sh\necho hi", "root\nProxyCommand id", "\x1b[2J",
           "\u202e", "0" * 64, "2024-13-45", "Europe/Berlin", "en_US"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SPECIAL),
                    st.text(max_size=12))
keys = st.one_of(st.sampled_from(KEYS), st.sampled_from(["web", "db", "x", "ssh"]), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(keys, inner, max_size=5)),
                      max_leaves=20)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten, anything the other time: deep enough to reach every check."""
    return st.integers(0, 9).flatmap(lambda n: values if n == 9 else good)


def mapping(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A mapping of some of ``fields`` (now and then a key the schema does not know)."""
    known = st.fixed_dictionaries({}, optional={k: mostly(v) for k, v in fields.items()})
    unknown = st.tuples(known, keys, scalars).map(lambda t: {**t[0], t[1]: t[2]})
    return mostly(st.one_of(known, known, unknown))


paths = st.sampled_from([".", "hosted.yaml", "/", "~", "~/.ssh", "/dev/zero", "/dev/null", "missing", "",
                         "a\nb"])
names = st.integers(0, 4).flatmap(lambda n: st.sampled_from(["web", "db", "ssh"]) if n < 4 else
                                  st.sampled_from(["web\n", "a b", "", "x" * 70, "-x", "\u202e"]))
ports = st.one_of(st.integers(-1, 70000), st.just("auto"), st.sampled_from(["${PORT:-22}", "22"]))
forward = mapping(name=names, guest=ports, host=ports,
                  host_ip=st.sampled_from(["127.0.0.1", "0.0.0.0", "::", "", "1.2.3.4\n", "x"]),
                  guest_ip=st.sampled_from(["", "10.0.2.15", "::1"]),
                  protocol=st.sampled_from(["tcp", "udp", "x"]))
nic = st.one_of(st.sampled_from(["nat", "internal", "natt"]),
                mapping(nat=st.one_of(st.none(), mapping(forwards=st.lists(forward, max_size=3))),
                        internal=mapping(network=names), bridged=mapping(interface=names),
                        hostonly=mapping(interface=names)))
step = mapping(shell=st.one_of(st.sampled_from(["echo ${TOKEN}", "echo hi"]),
                               mapping(inline=scalars, script=paths)),
               file=mapping(source=paths, destination=paths, allow_sensitive=st.booleans()),
               name=names, run=st.sampled_from(["once", "always", "never"]), privileged=st.booleans(),
               env=st.dictionaries(st.sampled_from(["A", "A\nB", "1X"]), scalars, max_size=2))
machine = mapping(
    vm_name=names, os_type=st.sampled_from(["Debian_64", "x\ny"]), cpus=st.integers(-1, 100),
    memory=st.sampled_from(["512M", "2G", 3, "1e400G", "${MEM:-1G}"]), disk=st.sampled_from(["10G", 0, "x"]),
    firmware=st.sampled_from(["bios", "efi", "uefi"]), state=st.sampled_from(["running", "poweroff", "on"]),
    nics=st.lists(nic, max_size=9), dvd=paths,
    shared_folders=st.lists(mapping(host=paths, guest=paths, name=names, readonly=st.booleans(),
                                    allow_sensitive=st.booleans()), max_size=2),
    ssh=mapping(user=names, port=ports, private_key=paths),
    ready=mapping(ssh=st.floats(-1, 1e9), command=scalars), provision=st.lists(step, max_size=3),
    baseline=st.booleans(), image=st.sampled_from(["deb", "iso", "nope"]), linked=st.booleans(),
    cloud_init=st.one_of(st.sampled_from(SPECIAL[-16:]), st.dictionaries(keys, scalars, max_size=2)),
    install=mapping(user=names, password=scalars, full_name=scalars, hostname=names,
                    time_zone=st.sampled_from(["UTC", "a b"]), locale=st.sampled_from(["en_US", "x"])))
image = mapping(source=st.sampled_from(["hosted.yaml", "https://example.org/d.box?t=${TOKEN}", "ftp://x/y",
                                        "missing.box", "/dev/zero"]),
                sha256=st.sampled_from(["0" * 64, "xyz"]),
                kind=st.sampled_from(["auto", "iso", "disk", "rpm"]),
                arch=st.sampled_from(["x86_64", "arm64", "mips"]), cloud_init=st.booleans())
profiles = st.fixed_dictionaries(
    {"version": mostly(st.just(1)), "name": mostly(st.sampled_from(["lab", "lab\n", "a b"])),
     "machines": mostly(st.dictionaries(names, st.one_of(st.none(), machine), min_size=1, max_size=3))},
    optional={"defaults": machine,
              "images": st.dictionaries(st.sampled_from(["deb", "iso"]), image, max_size=2),
              "secrets": mostly(st.lists(st.sampled_from(["TOKEN", "API KEY", "X"]), max_size=2))})
environs = st.fixed_dictionaries({"TOKEN": st.text(min_size=1, max_size=10)},
                                 optional={k: st.text(max_size=10) for k in ("CPUS", "PORT", "MEM", "X")})
TOKENS = [*"{}[]:,-?&*!|>'\"#%@`$ \n\t\\ab01.~/", "version: 1\n", "machines:\n", "  web: ", "<<: ", "&a ",
          "*a", "!!python/name:os.system ", "${X}", "\n  - ", "\u202e", "\x1b"]
YAML_TEXT = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
VALID = (b"version: 1\nname: lab\ndefaults: {cpus: 1, memory: 512M}\nmachines:\n  web:\n"
         b"    nics: [{nat: {forwards: [{guest: 22, host: auto}]}}]\n"
         b"    shared_folders: [{host: ., guest: /srv}]\n"
         b"    provision: [{shell: 'echo ${TOKEN:-x}'},\n"
         b"                {file: {source: hosted.yaml, destination: /tmp/p}}]\n")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hosted-prop-") as directory:
        yield Path(directory)


def load_or_named_error(path: Path, environ: Mapping[str, str]) -> Environment | HostedError:
    """The property: an Environment, or a HostedError; a ProfileError names the file."""
    try:
        env = load_profile(path, environ)
    except ProfileError as exc:
        assert exc.file and exc.message and exc.hint, exc
        assert exc.line is None or exc.line >= 1
        assert all(p.file for p in exc.problems)
        return exc
    except HostedError as exc:
        return exc
    assert env.machines
    return env


def write(workdir: Path, data: bytes) -> Path:
    path = workdir / "hosted.yaml"
    path.write_bytes(data)
    return path


@BOUNDED
@given(data=profiles, environ=environs)
def test_profile_shaped_data(workdir: Path, data: dict[str, Any], environ: dict[str, str]) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=None)
    load_or_named_error(write(workdir, text.encode("utf-8", "surrogatepass")), environ)


@BOUNDED
@given(text=YAML_TEXT, environ=environs)
def test_yaml_punctuation(workdir: Path, text: str, environ: dict[str, str]) -> None:
    load_or_named_error(write(workdir, b"version: 1\nname: lab\n" + text.encode()), environ)


@BOUNDED
@given(edits=st.lists(st.tuples(st.integers(0, len(VALID)), st.integers(0, 3), st.binary(max_size=3)),
                      min_size=1, max_size=4))
def test_a_valid_profile_with_bytes_changed(workdir: Path, edits: list[tuple[int, int, bytes]]) -> None:
    data = VALID
    for at, cut, insert in edits:
        data = data[:at] + insert + data[at + cut:]
    load_or_named_error(write(workdir, data), {"TOKEN": "t"})


def test_the_valid_profile_loads(workdir: Path) -> None:
    assert isinstance(load_or_named_error(write(workdir, VALID), {}), Environment)
