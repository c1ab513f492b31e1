"""``etsygen dev`` keeps its fixed ports across restarts and says why when it cannot."""

from __future__ import annotations

import errno
import os
import socket

import pytest

from etsygen_common.devstack import choose_port


@pytest.fixture
def port_in_time_wait() -> int:
    """A port whose last connection is in TIME_WAIT, as after stopping a server that had clients."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    served, _ = listener.accept()
    served.close()  # the server closes first, so its end (on ``port``) goes to TIME_WAIT
    client.recv(1)
    client.close()
    listener.close()
    return port


def test_a_port_in_time_wait_is_kept(port_in_time_wait: int) -> None:
    plain = socket.socket()
    with pytest.raises(OSError, match="in use") as refused:  # the state the old probe tripped over
        plain.bind(("127.0.0.1", port_in_time_wait))
    plain.close()
    assert refused.value.errno == errno.EADDRINUSE

    assert choose_port(port_in_time_wait) == (port_in_time_wait, None)


def test_a_just_closed_listener_leaves_its_port_free() -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
    assert choose_port(port) == (port, None)


def test_a_held_port_moves_and_says_who_holds_it() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        chosen, why = choose_port(port)
    assert chosen != port
    assert why is not None
    assert why.startswith(f"port {port} is in use by another program (pid {os.getpid()}, ")
    assert why.endswith(f" — using {chosen}")
