"""The pytest plugin's per-test reset of the tiny test guest, against bringing it up from scratch.

    scripts/sandbox run python bench/reset_per_test.py [--runs N] [--up-runs N] [--link-up-delay MS]

Uses its own VirtualBox home (its own VBoxSVC) and hosted's test guest
(``scripts/test-guest/stage.sh``; ``HOSTED_TEST_GUEST`` elsewhere), one machine
with ``baseline: true``.  Times:

* up from scratch: what the plugin's session start does (``hosted up`` of a new
  machine: create, boot, wait for SSH, provision, take the live baseline);
* restore only: ``hosted.reset(wait=False)``, VirtualBox's part (power off,
  restore the live snapshot, resume);
* one SSH login: a login to the settled, running guest (``hosted.open_remote``),
  what ``hosted ssh`` costs;
* plugin reset: the plugin's reset before a test (``HostedSession.reset``: the
  restore, then one login that the test's commands then use);
* hosted reset: ``hosted.reset`` (restore, then the one-login readiness check).

Each round runs them in turn on the running machine.  Target (issue 13): a reset
costs at most 1.3x (restore only + one SSH login), medians compared.
``--link-up-delay MS`` sets VirtualBox's e1000 LinkUpDelay on the machine
before its first boot: after restoring a saved state VirtualBox holds the
virtual link down that long so the guest notices a new network, and the SSH
connection waits for it.  hosted sets 0 on NAT adapters; 5000 is VirtualBox's
own default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchhome import isolate, vboxmanage

ROOT = Path(__file__).resolve().parents[1]
GUEST = Path(os.environ.get("HOSTED_TEST_GUEST", ROOT / ".cache" / "test-guest"))
TARGET = 1.3
PROFILE = """\
version: 1
name: {name}
machines:
  box:
    os_type: Linux_64
    memory: 64M
    cpus: 1
    firmware: bios
    baseline: true
    dvd: {guest}/test-guest.iso
    nics:
      - nat:
          adapter: 82540EM
          forwards:
            - {{name: ssh, guest: 22, host: auto}}
    ssh: {{user: root, private_key: {guest}/ssh/test_key}}
    provision:
      - shell: echo "provisioned by hosted" > /etc/motd
"""


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="reset rounds")
    parser.add_argument("--up-runs", type=int, default=1, help="ups from scratch")
    parser.add_argument("--link-up-delay", type=int, default=None, metavar="MS",
                        help="VirtualBox's e1000 LinkUpDelay for the machine (default: hosted's, 0 on NAT)")
    args = parser.parse_args()
    if not (GUEST / "test-guest.iso").is_file():
        raise SystemExit(f"no test guest at {GUEST}: run scripts/test-guest/stage.sh")
    home = isolate("hosted-bench-pertest-")
    import hosted
    from hosted.pytest_plugin.session import HostedSession

    times: dict[str, list[float]] = {k: [] for k in
                                     ("up from scratch", "restore only", "one SSH login", "plugin reset",
                                      "hosted reset")}
    for i in range(args.up_runs):
        profile = home / f"up{i}.yaml"
        profile.write_text(PROFILE.format(name=f"pertest{i}", guest=GUEST))
        session = HostedSession(hosted.load(profile), keep=False)
        if args.link_up_delay is not None:
            prepare_link_delay(session, args.link_up_delay)
        times["up from scratch"].append(timed(session.start))
        if i < args.up_runs - 1:
            session.stop()
    box = session.machines["box"]
    try:
        box.run("true", check=True)
        for _ in range(args.runs):
            box.run("touch /root/dirty", check=True)
            times["one SSH login"].append(timed(lambda: hosted.open_remote(
                session.env, "box", timeout=300, backend=session.backend).close()))
            times["restore only"].append(timed(lambda: check(hosted.reset(
                session.env, ["box"], yes=True, wait=False, backend=session.backend))))
            times["plugin reset"].append(timed(lambda: session.reset(["box"])))
            assert box.run("test -e /root/dirty").exit_status == 1
            times["hosted reset"].append(timed(lambda: check(hosted.reset(
                session.env, ["box"], yes=True, backend=session.backend))))
            box.close()  # its login ended with the restore; the next command logs in again
    finally:
        session.stop()
    return report(times, args)


def prepare_link_delay(session: object, delay_ms: int) -> None:
    """Create the machine without starting it, then set the extradata VirtualBox reads at power-on."""
    import hosted

    env = session.env  # type: ignore[attr-defined]
    check(hosted.up(env, yes=True, wait=False, backend=session.backend))  # type: ignore[attr-defined]
    check(hosted.halt(env, force=True, backend=session.backend))  # type: ignore[attr-defined]
    vboxmanage("setextradata", env.machines[0].vm_name,
               "VBoxInternal/Devices/e1000/0/Config/LinkUpDelay", str(delay_ms))


def check(result: object) -> None:
    if not result.ok:  # type: ignore[attr-defined]
        raise SystemExit(f"failed: {[(m.machine, m.error) for m in result.failed]}")  # type: ignore[attr-defined]


def report(times: dict[str, list[float]], args: argparse.Namespace) -> int:
    med = {k: statistics.median(v) for k, v in times.items() if v}
    reference = med["restore only"] + med["one SSH login"]
    delay = "hosted's (0 on NAT)" if args.link_up_delay is None else f"{args.link_up_delay} ms"
    print(f"tiny test guest, one machine, e1000 LinkUpDelay {delay}; {args.runs} reset rounds, "
          f"{args.up_runs} up(s)")
    print(f"{'':24}{'min':>8}{'median':>8}{'max':>8}  vs restore+login")
    for name, values in times.items():
        ratio = med[name] / reference
        mark = f"{ratio:5.2f}x" + (f"  target <= {TARGET}x {'ok' if ratio <= TARGET else 'MISSED'}"
                                   if name.endswith("reset") else "")
        print(f"{name:24}{min(values):8.2f}{med[name]:8.2f}{max(values):8.2f}  {mark}")
    print(f"{'restore + one login':24}{'':8}{reference:8.2f}")
    print(f"plugin reset vs up from scratch: {med['up from scratch'] / med['plugin reset']:.1f}x faster")
    return 0 if all(med[k] / reference <= TARGET for k in ("plugin reset", "hosted reset")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
