"""NAT port forwarding for the backend double: while a machine runs, each forward whose
guest port the test gives a "guest" for listens on its host address and port and relays
connections there, as VirtualBox's NAT does.  So readiness and provisioning run on the
double against a real sshd standing in for the guest."""

from __future__ import annotations

import contextlib
import socket
import threading

Address = tuple[str, int]


class Listener:
    def __init__(self, host: Address, guest: Address) -> None:
        self.guest = guest
        self.sock = socket.socket(socket.AF_INET6 if ":" in host[0] else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(host)
        self.sock.listen(16)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name=f"nat-{host[1]}").start()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        with contextlib.suppress(OSError):
            self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.guest, timeout=5)
            except OSError:
                client.close()  # the "guest" is not listening: NAT drops the connection
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


class Nat:
    """Listeners per machine, kept in step with its forwards and power state."""

    def __init__(self, guests: dict[int, Address]) -> None:
        self.guests = guests  # guest port -> where the test's stand-in guest listens
        self._open: dict[str, dict[tuple[str, int], Listener]] = {}

    def sync(self, uuid: str, running: bool, forwards: list[tuple[str, int, int]]) -> None:
        """``forwards``: (host address, host port, guest port) of the machine now."""
        want = {(ip or "127.0.0.1", host): self.guests[guest] for ip, host, guest in forwards
                if running and guest in self.guests}
        have = self._open.setdefault(uuid, {})
        for key in [k for k in have if k not in want or have[k].guest != want[k]]:
            have.pop(key).close()
        for key, guest in want.items():
            if key not in have:
                have[key] = Listener(key, guest)

    def close(self) -> None:
        for listeners in self._open.values():
            for listener in listeners.values():
                listener.close()
        self._open.clear()
