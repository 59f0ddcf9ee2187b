"""Shell scripts that set a guest's addresses and its names for the other machines.

POSIX sh with nothing beyond busybox (``ip``, ``awk``, ``mktemp``, ``cmp``), run as root.
Both are idempotent: an address already on its interface is left alone, and /etc/hosts is
rewritten only when hosted's block in it changes.  A NIC is found by its MAC address, never
by a name the guest may give it.  Where the guest has netplan, systemd-networkd or ifupdown,
the address is also written to its configuration, so it survives a reboot.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Sequence

from hosted.networks import mac_colons

CONF = "60-hosted"  # netplan / networkd file stem, ifupdown file name

_FIND = r"""
iface_of() {
    for d in /sys/class/net/*; do
        [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }
    done
    return 1
}
"""


def addresses_script(addresses: Sequence[tuple[str, str, str]]) -> str:
    """``addresses``: (MAC, address/prefix, what it is on)."""
    lines = ["set -e", _FIND.strip(), "netplan_conf=''", "networkd=''", "ifupdown=''"]
    for mac, ip, on in addresses:
        iface = ipaddress.IPv4Interface(ip)
        q_mac, q_ip = shlex.quote(mac_colons(mac)), shlex.quote(str(iface))
        lines += [
            f"n=$(iface_of {q_mac}) || {{ echo 'hosted: no interface with MAC '{q_mac}' ('"
            f"{shlex.quote(on)}')' >&2; exit 3; }}",
            'ip link set "$n" up',
            f'if ! ip -4 -o addr show dev "$n" | grep -q " inet {iface} "; then',
            '    ip -4 addr flush dev "$n"',
            f'    ip addr add {q_ip} dev "$n"',
            f'    echo "hosted: {iface} on $n"',
            "fi",
            f'netplan_conf="$netplan_conf    hosted-{mac}:\\n'
            f'      match: {{macaddress: \\"{mac_colons(mac)}\\"}}\\n      addresses: [{iface}]\\n"',
            f'networkd="$networkd {mac_colons(mac)}={iface}"',
            f'ifupdown="$ifupdown\\nauto $n\\niface $n inet static\\n    address {iface}\\n"',
        ]
    lines.append(_PERSIST.strip())
    return "\n".join(lines) + "\n"


_PERSIST = rf"""
write_if_changed() {{  # FILE MODE: stdin into FILE when it differs
    t=$(mktemp); cat > "$t"
    if cmp -s "$t" "$1"; then rm -f "$t"; else chmod "$2" "$t"; mv -f "$t" "$1"; fi
}}
if [ -d /etc/netplan ] && command -v netplan >/dev/null 2>&1; then
    printf 'network:\n  version: 2\n  ethernets:\n%b' "$netplan_conf" \
        | write_if_changed /etc/netplan/{CONF}.yaml 600
elif [ -d /etc/systemd/network ] && systemctl is-enabled systemd-networkd >/dev/null 2>&1; then
    for pair in $networkd; do
        mac=${{pair%%=*}}; addr=${{pair#*=}}
        printf '[Match]\nMACAddress=%s\n\n[Network]\nAddress=%s\n' "$mac" "$addr" \
            | write_if_changed "/etc/systemd/network/{CONF}-$(echo "$mac" | tr -d :).network" 644
    done
elif [ -d /etc/network/interfaces.d ]; then
    printf '%b' "$ifupdown" | write_if_changed /etc/network/interfaces.d/{CONF} 644
fi
"""


def hosts_script(environment: str, entries: Sequence[tuple[str, str]], path: str = "/etc/hosts") -> str:
    """hosted's block in /etc/hosts: one line per (address, name); the rest of the file stays."""
    begin, end = f"# BEGIN hosted {environment}", f"# END hosted {environment}"
    block = "\n".join([begin, *(f"{ip} {name}" for ip, name in entries), end])
    return "\n".join([
        "set -e",
        f"f={shlex.quote(path)}",
        '[ -e "$f" ] || : > "$f"',
        't=$(mktemp)',
        f'awk -v b={shlex.quote(begin)} -v e={shlex.quote(end)} '
        "'$0 == b {skip = 1; next} $0 == e {skip = 0; next} !skip' \"$f\" > \"$t\"",
        f"printf '%s\\n' {shlex.quote(block)} >> \"$t\"",
        # Rewritten in place (not replaced): /etc/hosts may be a bind mount.
        'if cmp -s "$t" "$f"; then echo "hosted: /etc/hosts unchanged"; else cat "$t" > "$f"; '
        'echo "hosted: /etc/hosts updated"; fi',
        'rm -f "$t"',
    ]) + "\n"


def hostname_script(name: str) -> str:
    """Set the host name now and for the next boots (/etc/hostname, hostnamectl where there is
    systemd) and name it in /etc/hosts as 127.0.1.1; idempotent, POSIX sh with busybox."""
    short = name.split(".", 1)[0]
    line = f"127.0.1.1 {name} {short}" if short != name else f"127.0.1.1 {name}"
    q, q_line = shlex.quote(name), shlex.quote(line)
    return "\n".join([
        "set -e",
        f'if [ "$(hostname)" != {q} ]; then',
        f"    hostname {q} 2>/dev/null || echo {q} > /proc/sys/kernel/hostname",
        f"    echo 'hosted: host name '{q}",
        "fi",
        f'[ "$(cat /etc/hostname 2>/dev/null)" = {q} ] || echo {q} > /etc/hostname',
        f"if command -v hostnamectl >/dev/null 2>&1; then hostnamectl set-hostname {q} 2>/dev/null || :; fi",
        "t=$(mktemp)",
        "[ -e /etc/hosts ] || : > /etc/hosts",
        "awk '$1 != \"127.0.1.1\"' /etc/hosts > \"$t\"",
        f"printf '%s\\n' {q_line} >> \"$t\"",
        # Rewritten in place (not replaced): /etc/hosts may be a bind mount.
        'cmp -s "$t" /etc/hosts || cat "$t" > /etc/hosts',
        'rm -f "$t"',
    ]) + "\n"


# Reading the boot's identity, and rebooting from inside without holding the SSH session open.
# The boot time where the kernel has no boot id (no /proc/sys).
BOOT_ID_COMMAND = ("cat /proc/sys/kernel/random/boot_id 2>/dev/null || "
                   "awk '/^btime/ {print \"btime\", $2}' /proc/stat")
# In the background, so the command returns before the guest goes down.  A guest whose PID 1 is a
# shell (a minimal image with a plain init script, like hosted's test guest) has no init to ask:
# busybox's `reboot` would end every process but reboot nothing, so it is rebooted at once
# (after a sync); every other guest is asked to reboot cleanly.
_REBOOT = ('trap "" HUP; sleep 1; sync; case "$(readlink /proc/1/exe 2>/dev/null)" in '
           '*/sh|*/ash|*/dash|*/bash|*/busybox) reboot -f ;; '
           '*) if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then systemctl reboot; '
           'else reboot; fi ;; esac')
REBOOT_COMMAND = f"( {_REBOOT} ) >/dev/null 2>&1 </dev/null &"
