"""``hotelcore vendor-sim`` and ``hotelcore pms import|status|sync`` as a user runs them: separate
processes over real HTTP and a real database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import psycopg

HC = [sys.executable, "-m", "pyapi.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_import_a_property_from_the_simulator_and_read_its_status(fresh_db: str):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": fresh_db, "COLUMNS": "300"}
    sim = subprocess.Popen(
        [*HC, "vendor-sim", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1.3"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/getHotelDetails", headers={"x-api-key": "demo-key"}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "vendor-sim did not start"
            time.sleep(0.2)
        res = subprocess.run(
            [
                *HC,
                "pms",
                "import",
                "--vendor",
                "cloudbeds",
                "--property",
                "cb-1001",
                "--base-url",
                base,
                "--api-key",
                "demo-key",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        assert "2 room types, 9 rooms, 2 rate plans" in res.stdout
        again = subprocess.run(
            [
                *HC,
                "pms",
                "import",
                "--vendor",
                "cloudbeds",
                "--property",
                "cb-1001",
                "--base-url",
                base,
                "--api-key",
                "demo-key",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 1 and "PMS_PROPERTY_ALREADY_IMPORTED" in again.stderr
        assert "Traceback" not in again.stderr
        res = subprocess.run(
            [*HC, "pms", "sync", "--hotel", "1"], env=env, capture_output=True, text=True, timeout=120
        )
        status = subprocess.run([*HC, "pms", "status"], env=env, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        assert "cb-1001" in status.stdout and "Hanok" in status.stdout
        with psycopg.connect(fresh_db) as conn:
            name, city = conn.execute(
                "select name, city from core.hotels h join core.pms_properties p on p.hotel_id = h.id"
            ).fetchone()
            runs = conn.execute("select count(*) from core.pms_sync_runs where ok").fetchone()[0]
        assert city == "Seoul" and name.startswith("Hanok") and runs == 1
    finally:
        sim.terminate()
        sim.wait(timeout=10)
