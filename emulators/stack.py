"""The emulators together, seeded with the fictional tenant: what the sandbox demo and the ``__main__``s start.

``python -m dealtalk.emulators.sandbox`` (and ``.graph`` / ``.dataverse``) print one JSON line with the URLs, the
CA file and the app credentials of the emulated tenant, then serve until stdin closes or SIGTERM. A small
control server answers ``GET /dump`` (Dataverse rows) for ``dealtalk demo --sandbox --dump FILE``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dealtalk.samples import SAMPLES_DIR

from .dataverse import DataverseEmulator
from .dataverse.seed import seed_from_fixture
from .graph import GraphEmulator, Tenant
from .graph.seed import SELLERS, lookback_days_for, seed_samples
from .graph.state import Recording
from .http import EmulatorServer, Request, Response, json_response
from .identity import AppRegistration, IdentityEmulator, TokenIssuer

__all__ = ["Stack", "main", "start_stack"]

TENANT_ID = "5c3f8e2a-0d1b-4a7c-9e6f-2b8d4c1a7e90"
CLIENT_ID = "0e7d4b2c-8f1a-4c6e-b3d9-7a5f2e1c8b40"
GRAPH_ROLES = {
    "OnlineMeetingRecording.Read.All",
    "OnlineMeetingTranscript.Read.All",
    "OnlineMeetings.Read.All",
    "User.Read.All",
}
_SAMPLES = SAMPLES_DIR


@dataclass
class Stack:
    identity: IdentityEmulator
    graph: GraphEmulator | None
    dataverse: DataverseEmulator | None
    client_secret: str
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    control: EmulatorServer | None = None
    # Recordings seeded but not in the tenant yet: ``POST /publish`` adds them as if the meetings just ended,
    # and Graph notifies the subscribers (the deployed topology's path: webhook first, delta sync as net).
    withheld: list[Recording] = field(default_factory=list)
    lookback_days: int = 14

    def info(self) -> dict[str, Any]:
        return {
            "tenant_id": TENANT_ID,
            "client_id": CLIENT_ID,
            "client_secret": self.client_secret,
            "identity_url": self.identity.url,
            "ca_file": str(self.identity.ca_file),
            "graph_base_url": self.graph.base_url if self.graph else None,
            "dataverse_url": self.dataverse.url if self.dataverse else None,
            "control_url": self.control.url if self.control else None,
            "control_token": self.control_token,
            "organizers": sorted(SELLERS),
            "recordings": [r.id for r in (*self.graph.tenant.recordings, *self.withheld)]
            if self.graph
            else [],
            "lookback_days": self.lookback_days,
        }

    def _control(self, request: Request) -> Response:
        if request.query.get("token") != self.control_token:
            return json_response(403, {"error": "wrong control token"})
        if request.path == "/dump" and self.dataverse is not None:
            return json_response(200, self.dataverse.dump())
        if request.path == "/publish" and request.method == "POST" and self.graph is not None:
            return json_response(200, {"notified": self.publish_withheld()})
        return json_response(404, {"error": "unknown control path"})

    def publish_withheld(self) -> dict[str, int]:
        """Put the withheld recordings into the tenant, notifying subscribers; recording id -> deliveries."""
        assert self.graph is not None
        sent: dict[str, int] = {}
        while self.withheld:
            recording = self.withheld.pop(0)
            with self.graph.tenant.lock:
                self.graph.tenant.recordings.append(recording)
            sent[recording.id] = self.graph.publish_recording(recording)
        return sent

    def stop(self) -> None:
        for server in (self.control, self.graph, self.dataverse, self.identity):
            if server is not None:
                server.stop()


def start_stack(
    *,
    graph: bool,
    dataverse: bool,
    state_dir: Path,
    samples: Path = _SAMPLES,
    withhold: bool = False,
    copies: int = 1,
) -> Stack:
    """Start the identity platform plus the chosen emulators, seeded with the sample tenant.

    The Dataverse rows persist in ``state_dir/dataverse-state.json``: a second start sees the activities of
    the first (so a rerun of the sandbox demo updates rather than duplicates).
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(24)
    issuer = TokenIssuer(TENANT_ID)
    issuer.register_app(AppRegistration(CLIENT_ID, secret, {"https://graph.microsoft.com": set(GRAPH_ROLES)}))
    identity = IdentityEmulator(issuer, tls_dir=state_dir / "tls").start()
    graph_emulator = None
    withheld: list[Recording] = []
    lookback = 14
    if graph:
        tenant = Tenant(TENANT_ID)
        seeded = seed_samples(tenant, samples / "calls", copies=copies)
        lookback = lookback_days_for(tenant)
        if withhold:
            with tenant.lock:
                tenant.recordings = [r for r in tenant.recordings if r not in seeded]
            withheld = seeded
        graph_emulator = GraphEmulator(
            issuer, tenant, allow_http_loopback=True, tls=identity.tls.context
        ).start()
    dataverse_emulator = None
    if dataverse:
        state_file = state_dir / "dataverse-state.json"
        fresh = not state_file.exists()
        dataverse_emulator = DataverseEmulator(
            issuer, application_users={CLIENT_ID}, state_file=state_file, tls=identity.tls.context
        )
        if fresh:
            seed_from_fixture(dataverse_emulator.store, samples / "crm.json")
            dataverse_emulator.store.save(state_file)
        dataverse_emulator.start()
    stack = Stack(
        identity, graph_emulator, dataverse_emulator, secret, withheld=withheld, lookback_days=lookback
    )
    stack.control = EmulatorServer(stack._control).start()
    return stack


def main(argv: list[str] | None = None, *, graph: bool = True, dataverse: bool = True) -> None:
    parser = argparse.ArgumentParser(description="Run the dealtalk Microsoft 365 emulators on 127.0.0.1.")
    parser.add_argument("--state-dir", type=Path, default=Path("dealtalk-data/emulators"))
    parser.add_argument("--samples", type=Path, default=_SAMPLES, help="folder with calls/ and crm.json")
    parser.add_argument(
        "--withhold", action="store_true", help="keep the sample recordings back until POST /publish"
    )
    parser.add_argument("--copies", type=int, default=1, help="seed each sample call this many times")
    args = parser.parse_args(argv)
    stack = start_stack(
        graph=graph,
        dataverse=dataverse,
        state_dir=args.state_dir,
        samples=args.samples,
        withhold=args.withhold,
        copies=args.copies,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(json.dumps(stack.info()), flush=True)  # noqa: T201 - the launcher reads this line

    def wait_for_stdin_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_stdin_eof, daemon=True).start()
    done.wait()
    stack.stop()
