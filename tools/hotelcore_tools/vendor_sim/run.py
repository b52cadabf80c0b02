"""Running the simulated vendor in a thread of its own (tests, demo, bench) and the demo's property."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

import uvicorn

from .model import BASE_PATH
from .simulator import Simulator

# --------------------------------------------------------------------------- running it


@dataclass
class RunningSimulator:
    sim: Simulator
    url: str  # the API base URL, .../api/v1.3
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sim._outbox.put(None)


def start_simulator(
    sim: Simulator | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a simulator in a background thread; returns once it answers."""
    sim = sim or Simulator()
    if port == 0:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    config = uvicorn.Config(
        sim.app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"vendor-sim-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the simulated vendor did not start on {host}:{port}")
        time.sleep(0.02)
    return RunningSimulator(sim, f"http://{host}:{port}{BASE_PATH}", server, thread)


def demo_simulator() -> Simulator:
    """The simulator ``hotelcore vendor-sim`` serves: one Seoul property, key ``demo-key``."""
    sim = Simulator()
    sim.add_property(
        "cb-1001",
        "demo-key",
        name="Hanok Stay Bukchon (Cloudbeds)",
        city="Seoul",
        room_types=[
            ("81001", "Ondol Room", 2, 6, Decimal("120000")),
            ("81002", "Garden Suite", 4, 3, Decimal("240000")),
        ],
    )
    return sim
