"""An ERP behind the signed webhook, as its own process with a durable ledger, for the fault test to kill.

Usage: python tests/erp_webhook_server.py PORT LEDGER_FILE SECRET

It keeps one PO per requisition number and one vendor per supplier-request number (the Idempotency-Key) in a
SQLite file, so a PO it
committed survives the process being killed, exactly as a real ERP's would: a kill between its
commit and its answer is a "timeout after commit" seen from our side. Prints "ready" once it listens.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.erp.webhook import verify_signature  # noqa: E402


def main() -> None:
    port, ledger, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    db = sqlite3.connect(ledger, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS po (id INTEGER PRIMARY KEY, reference TEXT UNIQUE NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS vendor (id INTEGER PRIMARY KEY, reference TEXT UNIQUE NOT NULL, name TEXT)")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return None

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not verify_signature(
                secret,
                self.headers.get("X-Procurebot-Timestamp", ""),
                body,
                self.headers.get("X-Procurebot-Signature", ""),
            ):
                return self._send(401, {"error": "signature does not match"})
            data = json.loads(body)
            if data.get("event") == "purchase_order.create":
                reference = data["order"]["reference"]
                if self.headers.get("Idempotency-Key") != reference:
                    return self._send(400, {"error": "Idempotency-Key must be the requisition number"})
                with lock:
                    created = db.execute("INSERT OR IGNORE INTO po (reference) VALUES (?)", (reference,)).rowcount
                    (po_id,) = db.execute("SELECT id FROM po WHERE reference = ?", (reference,)).fetchone()
                return self._send(
                    201 if created else 200,
                    {"erp_id": str(po_id), "po_number": f"WH-{po_id:06d}", "status": "open", "created": bool(created)},
                )
            if data.get("event") == "supplier.create":
                supplier = data["supplier"]
                if self.headers.get("Idempotency-Key") != supplier["reference"]:
                    return self._send(400, {"error": "Idempotency-Key must be the supplier-request number"})
                with lock:
                    created = db.execute(
                        "INSERT OR IGNORE INTO vendor (reference, name) VALUES (?, ?)",
                        (supplier["reference"], supplier["name"]),
                    ).rowcount
                    vendor_id, name = db.execute(
                        "SELECT id, name FROM vendor WHERE reference = ?", (supplier["reference"],)
                    ).fetchone()
                return self._send(
                    201 if created else 200,
                    {
                        "erp_id": str(vendor_id),
                        "vendor_number": f"WV-{vendor_id:06d}",
                        "name": name,
                        "created": bool(created),
                    },
                )
            if data.get("event") == "purchase_order.status":
                with lock:
                    row = db.execute("SELECT id FROM po WHERE reference = ?", (data["reference"],)).fetchone()
                if row is None:
                    return self._send(404, {"error": "no such purchase order"})
                return self._send(200, {"erp_id": str(row[0]), "po_number": f"WH-{row[0]:06d}", "status": "open"})
            return self._send(501, {"error": "not offered"})

        def _send(self, status: int, payload: dict[str, object]) -> None:
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever(0.05)


if __name__ == "__main__":
    main()
