#!/usr/bin/python
# Copyright: The hosted authors
# MIT License (see LICENSE in the collection)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hosted_environment
short_description: Make a host's VirtualBox machines match a hosted profile or bundle
version_added: "0.1.0"
description:
  - Runs hosted on the managed host, which makes that host's
    VirtualBox match a YAML profile (or a bundle of a profile and its images); it creates,
    configures, starts, halts, resets or deletes the machines, and saves or restores snapshots.
  - Uses hosted's Python API when the Python that Ansible runs on the host can import hosted
    (set C(ansible_python_interpreter) to the interpreter of hosted's virtual environment),
    otherwise the C(hosted) command with C(--json).
  - C(changed) is true only when hosted's plan had steps to take. A second run of the same task
    reports no change.
  - A failure is hosted's own message, hint and exit code. A machine that fails is reported in
    RV(machines) while the others go on.
  - The machines belong to the user the task runs as (VirtualBox keeps one registry per user and
    per C(VBOX_USER_HOME)).
author:
  - The hosted authors (!UNKNOWN)
requirements:
  - hosted 0.1.0 or newer on the managed host (Python 3.11 or newer)
  - VirtualBox 7.0 or newer on the managed host
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Returns hosted's plan of each operation (RV(plans)) and changes no machine. A bundle is
      still verified and extracted into hosted's cache, as C(hosted plan -f X.bundle) does.
  diff_mode:
    support: full
    details: Shows the plan's steps (check mode) or the steps taken, one line each.
  platform:
    platforms: posix
options:
  profile:
    description:
      - A hosted profile on the managed host, or a directory holding C(hosted.yaml).
      - Exactly one of O(profile) and O(bundle) is required.
    type: path
  bundle:
    description:
      - A bundle made by C(hosted bundle), on the managed host (copy it there first).
      - It is extracted once into hosted's cache and every checksum is verified before use; a damaged
        bundle fails the task and nothing of it is used.
      - Before O(state=up) runs anything from it, it must carry a good signature by one of O(trust), or
        O(allow_unsigned) must be set.
    type: path
  state:
    description:
      - V(up) creates, configures and starts the machines as the profile says (a machine whose
        profile C(state) is C(poweroff) is created and left off), waits for SSH and provisions.
      - V(halted) shuts the machines down (ACPI, then power off after O(timeout)).
      - V(absent) deletes the machines hosted made for this environment, and their disks.
      - V(reset) restores each machine's C(baseline) snapshot and brings it to its desired state;
        machines without one are left alone.
    type: str
    choices: [up, halted, absent, reset]
    default: up
  machines:
    description:
      - Only these machines of the profile (default, all of them).
      - A named machine that does not exist is left alone by V(halted), V(absent), V(reset) and
        the snapshot actions.
    type: list
    elements: str
    default: []
  snapshot:
    description:
      - A snapshot to restore before O(state) is applied, or to save after it.
      - Saving takes the snapshot on the machines that lack one of that name (a second run is no
        change); restoring discards the machines' current state and always reports a change.
    type: dict
    suboptions:
      save:
        description: The name of the snapshot to take.
        type: str
      restore:
        description: The name of the snapshot to go back to.
        type: str
  trust:
    description:
      - An OpenSSH allowed-signers file on the managed host (C(man ssh-keygen), "ALLOWED SIGNERS").
        A bundle signed by one of them (C(hosted bundle --sign KEY)) is used without asking.
      - A signature by anyone else, or one that does not match the bundle, fails the task.
    type: path
  allow_unsigned:
    description:
      - Use a bundle that nobody in O(trust) vouches for (hosted's C(--yes) for its bundle gate).
        What the bundle will share, copy, run and open is in RV(bundle.summary).
    type: bool
    default: false
  confirm:
    description:
      - Allow the steps hosted asks about before taking them during O(state=up) (restarting a running
        machine to apply a change that needs it off, deleting a machine the profile no longer has).
        Without it such a plan fails the task and nothing is changed.
      - O(state=absent), O(state=reset) and O(snapshot.restore) are confirmation in themselves.
    type: bool
    default: false
  parallel:
    description: How many machines hosted works on at once (V(0), all of them, at most 32).
    type: int
    default: 0
  wait:
    description:
      - Wait until each started machine answers on SSH and provision it (V(false), only start it).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for an ACPI shutdown before powering off, with O(state=halted).
    type: float
    default: 60
  executable:
    description:
      - The C(hosted) command to run. Giving it makes the module use the command (with C(--json))
        even when hosted is importable.
      - Default, hosted's Python API if importable, else C(hosted) found on E(PATH),
        in C(~/.local/bin) or in C(/usr/local/bin).
    type: path
notes:
  - Run on a host with the environment variables VirtualBox reads (C(VBOX_USER_HOME),
    C(VBOX_IPC_SOCKETID)) set with the C(environment) keyword to use another VirtualBox home.
  - docs/labs.md in hosted's repository is a recipe for a lab of 30 desktops, from the inventory
    to resetting every desktop between classes.
"""

EXAMPLES = r"""
- name: Install the workshop from a signed bundle
  hosted.lab.hosted_environment:
    bundle: /var/lib/hosted/workshop.bundle
    trust: /etc/hosted/allowed_signers

- name: Check what would change, changing nothing (run with --check --diff)
  hosted.lab.hosted_environment:
    bundle: /var/lib/hosted/workshop.bundle
    trust: /etc/hosted/allowed_signers
  check_mode: true
  register: planned

- name: Back to the baseline between two classes
  hosted.lab.hosted_environment:
    bundle: /var/lib/hosted/workshop.bundle
    state: reset

- name: Keep the state of the web machine as 'exercise-2'
  hosted.lab.hosted_environment:
    profile: /srv/lab/hosted.yaml
    machines: [web]
    snapshot:
      save: exercise-2

- name: Remove the machines and their disks
  hosted.lab.hosted_environment:
    profile: /srv/lab/hosted.yaml
    state: absent
"""

RETURN = r"""
environment:
  description: The environment's name (the profile's C(name)).
  returned: success
  type: str
  sample: workshop
interface:
  description: How hosted was reached, V(api) (its Python API) or V(cli) (the C(hosted) command).
  returned: success
  type: str
  sample: api
hosted_version:
  description: The version of hosted on the managed host.
  returned: success
  type: str
  sample: 0.1.0
machines:
  description: Each machine of the profile (or of O(machines)) after the task, with what was done to it.
  returned: always
  type: list
  elements: dict
  contains:
    machine:
      description: The profile's name of the machine.
      type: str
      sample: web
    vm_name:
      description: The VirtualBox machine's name.
      type: str
      sample: workshop-web
    uuid:
      description: The VirtualBox machine's UUID (null when it does not exist).
      type: str
    state:
      description: Its power state (V(running), V(poweroff), V(saved), ..., or V(not created)).
      type: str
      sample: running
    desired:
      description: The power state the profile asks for.
      type: str
      sample: running
    in_profile:
      description: False for a machine of this environment that the profile no longer has.
      type: bool
    drift:
      description: How it still differs from the profile.
      type: list
      elements: str
    ssh:
      description: Where to reach it with SSH (C(host), C(port), C(user)), or null.
      type: dict
      sample: {"host": "127.0.0.1", "port": 2200, "user": "root"}
    steps:
      description: The steps taken on it (in check mode, the steps that would be taken).
      type: list
      elements: str
      sample: ["create workshop-web (Ubuntu_64, 1 CPU, 1 GB)"]
host_steps:
  description: Steps of the host itself (fetching an image, importing its template).
  returned: success
  type: list
  elements: str
plans:
  description: In check mode, hosted's plan of each operation the task maps to, in order.
  returned: check mode
  type: list
  elements: dict
  contains:
    operation:
      description: V(up), V(halt), V(destroy), V(reset), V(snapshot-save) or V(snapshot-restore).
      type: str
    actions:
      description: How many steps would change something.
      type: int
    machines:
      description: Each machine's steps (C(kind), C(description), C(noop), C(needs_confirmation)).
      type: list
      elements: dict
    images:
      description: The host's steps.
      type: list
      elements: dict
    warnings:
      description: The plan's warnings.
      type: list
      elements: str
    approximate:
      description: True when the plan was derived from C(hosted status) (the command plans only V(up)).
      type: bool
bundle:
  description: The bundle used, when O(bundle) is given.
  returned: when O(bundle) is given
  type: dict
  contains:
    path:
      description: The bundle.
      type: str
    profile:
      description: Its extracted profile (hosted's API only).
      type: str
    signed:
      description: Whether it carries a signature (hosted's API only).
      type: bool
    signer:
      description: The allowed signer whose good signature it carries, or null (hosted's API only).
      type: str
    summary:
      description: What it shares with the guests, copies and runs in them and opens on the host
        (hosted's API only).
      type: list
      elements: str
msg:
  description: hosted's error message.
  returned: failure
  type: str
  sample: "web: no SSH login within 300 s (stage ssh)"
hint:
  description: hosted's hint, what to do about it.
  returned: failure
  type: str
exit_code:
  description: hosted's exit code, 1 an operation failed, 2 invalid input, 3 VirtualBox unavailable.
  returned: failure
  type: int
  sample: 2
error_type:
  description: The name of hosted's error (C(BundleError), C(ProfileError), C(ConfirmationRequired), ...).
  returned: failure
  type: str
problems:
  description: Every problem of an invalid profile, with C(file), C(line), C(column) and C(key).
  returned: when the profile is invalid
  type: list
  elements: dict
"""

import sys
import traceback
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hosted.lab.plugins.module_utils.environment import (
    HostedFailure,
    Request,
    applied,
    diff,
)

ARGUMENT_SPEC = {
    "profile": {"type": "path"},
    "bundle": {"type": "path"},
    "state": {"type": "str", "choices": ["up", "halted", "absent", "reset"], "default": "up"},
    "machines": {"type": "list", "elements": "str", "default": []},
    "snapshot": {"type": "dict", "options": {"save": {"type": "str"}, "restore": {"type": "str"}},
                 "mutually_exclusive": [["save", "restore"]]},
    "trust": {"type": "path"},
    "allow_unsigned": {"type": "bool", "default": False},
    "confirm": {"type": "bool", "default": False},
    "parallel": {"type": "int", "default": 0},
    "wait": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 60},
    "executable": {"type": "path"},
}


def driver_for(module: AnsibleModule, request: Request) -> Any:
    """hosted's API in this process when it is importable, else its command."""
    from ansible_collections.hosted.lab.plugins.module_utils import api_driver

    if not module.params["executable"] and api_driver.importable():
        return api_driver.ApiDriver(request)
    driver = command_driver(module, request)
    if driver is None:
        raise HostedFailure("hosted is not installed on this host: the Python Ansible runs here cannot "
                            "import it and there is no `hosted` command",
                            "install it (the hosted.lab.workstation role does), set "
                            "ansible_python_interpreter to the Python of its virtual environment, "
                            "or give `executable:`",
                            1, "HostedNotFound")
    return driver


def command_driver(module: AnsibleModule, request: Request) -> Any:
    """The `hosted` command: ``executable:``, the one beside this Python (its virtual
    environment's), or one on the PATH; None if there is none."""
    from ansible_collections.hosted.lab.plugins.module_utils import cli_driver

    beside = Path(sys.executable).parent / "hosted"
    where = [str(Path.home() / ".local" / "bin"), "/usr/local/bin"]
    executable = module.params["executable"] or (str(beside) if beside.is_file() else None) \
        or module.get_bin_path("hosted", opt_dirs=where)
    return cli_driver.CliDriver(request, module.run_command, executable) if executable else None


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True,
                           mutually_exclusive=[["profile", "bundle"]],
                           required_one_of=[["profile", "bundle"]], required_by={"trust": "bundle"})
    request = Request(module.params)
    if request.state == "absent" and (request.save or request.restore):
        module.fail_json(msg="snapshot cannot be combined with state: absent", exit_code=2,
                         error_type="UsageError", hint="save or restore in a task of its own")
    for name in (request.save, request.restore):
        if name.startswith("-"):
            module.fail_json(msg=f"invalid snapshot name {name!r}", exit_code=2, error_type="UsageError",
                             hint="a snapshot name starts with a letter or a digit")
    try:
        driver = driver_for(module, request)
        # VBoxSVC refused this process (it was shutting down): the command, a new process, gets through.
        again = (lambda: command_driver(module, request)) if driver.name == "api" else None
        result = applied(request, driver, module.check_mode, again)
    except HostedFailure as failure:
        module.fail_json(**failure.result())
    except Exception as exc:  # a bug, in hosted or here: say so, with the traceback
        module.fail_json(msg=f"hosted_environment failed unexpectedly: {type(exc).__name__}: {exc}",
                         exception=traceback.format_exc(), exit_code=1, error_type=type(exc).__name__)
    for warning in result.pop("warnings_from_hosted"):
        module.warn(warning)
    if module._diff:
        result["diff"] = diff(result, module.check_mode)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
