"""A local stand-in for Nominatim's ``/reverse`` API (format=jsonv2), on 127.0.0.1 only.

Knows a few places by rounded coordinates; elsewhere answers ``{"error": "Unable to geocode"}``
like the real service. Records every request (query and User-Agent) and can be told to fail the
next N requests with HTTP 503 to exercise retries and backoff.

    with FakeNominatim() as fake:
        url = fake.url          # http://127.0.0.1:<port>
        ...
        assert fake.requests[0]["lat"] == "48.858"
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: (lat, lon) rounded to 1 decimal -> jsonv2 address
PLACES: dict[tuple[float, float], dict[str, str]] = {
    (48.9, 2.3): {"road": "Avenue Anatole France", "suburb": "Gros-Caillou", "city": "Paris",
                  "county": "Paris", "state": "Île-de-France", "country": "France",
                  "country_code": "fr"},
    (52.5, 13.4): {"suburb": "Mitte", "city": "Berlin", "state": "Berlin", "country": "Germany",
                   "country_code": "de"},
    (46.6, 8.0): {"village": "Grindelwald", "county": "Verwaltungskreis Interlaken-Oberhasli",
                  "state": "Bern", "country": "Switzerland", "country_code": "ch"},
}


class FakeNominatim:
    def __init__(self, places: dict[tuple[float, float], dict[str, str]] | None = None):
        self.places = dict(PLACES if places is None else places)
        self.requests: list[dict[str, str]] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeNominatim:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, query: dict[str, str]) -> tuple[int, dict]:
        with self._lock:
            self.requests.append(query)
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, {"error": "Service Unavailable"}
        try:
            lat, lon = float(query["lat"]), float(query["lon"])
        except (KeyError, ValueError):
            return 400, {"error": {"code": 400, "message": "Parameter 'lat' and 'lon' required"}}
        address = self.places.get((round(lat, 1), round(lon, 1)))
        if address is None:
            return 200, {"error": "Unable to geocode"}
        return 200, {
            "place_id": 1, "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
            "osm_type": "way", "osm_id": 1, "lat": str(lat), "lon": str(lon),
            "category": "place", "type": "city", "place_rank": 16, "importance": 0.5,
            "addresstype": "city", "name": address.get("city") or address.get("village", ""),
            "display_name": ", ".join(address.values()), "address": address,
            "boundingbox": [str(lat - 0.1), str(lat + 0.1), str(lon - 0.1), str(lon + 0.1)],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's API)
                parts = urlsplit(self.path)
                if parts.path.rstrip("/") != "/reverse":
                    self._send(404, {"error": "not found"})
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                query["user_agent"] = self.headers.get("User-Agent", "")
                self._send(*fake.answer(query))

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler
