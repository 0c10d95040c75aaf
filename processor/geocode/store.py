"""The geocode service's database access: the only code that runs its SQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from photo_factory import db
from photo_factory.stage_store import PreparedStatements
from processor.geocode.places import Place

QUERIES = db.load_queries(Path(__file__).with_name("queries.sql"))


class GeocodeStore:
    def __init__(self, database_url: str, application_name: str = "geocode"):
        self.db = db.Database(database_url, application_name, QUERIES)
        self._prepared = PreparedStatements()

    def close(self) -> None:
        self.db.close()

    def place_writer(self, asset_id: int, place: Place, provider: str) -> Callable[[Any], None]:
        """The place found for an asset (or that none was found), as the stage engine's ``Finish``:
        run on the engine's cursor in the transaction that sets ``is_geocoded``, so a photo costs
        one durable commit, not two."""
        query = self.db.sql("save_place")
        params = {"asset_id": asset_id, "provider": provider, **place.to_dict()}

        def write(cur: Any) -> None:  # prepared once per connection (an UPDATE of media_assets
            # takes ~1 ms to plan: its two dozen indexes)
            self._prepared.execute(cur, "pf_geocode_save_place", query, params)

        return write

    def places_writer(self, found: list[tuple[int, Place]], provider: str) -> Callable[[Any], None]:
        """The places of a batch as ONE ``Finish`` (one UPDATE, one run of the rollup trigger)."""
        query = self.db.sql("save_places")
        fields = list(Place.__dataclass_fields__)
        params: dict[str, Any] = {"ids": [asset_id for asset_id, _ in found], "provider": provider,
                                  **{f: [getattr(place, f) for _, place in found] for f in fields}}

        def write(cur: Any) -> None:
            self._prepared.execute(cur, "pf_geocode_save_places", query, params)

        return write

    def cached_place(self, provider: str, key: tuple[float, float]) -> Place | None:
        """The cached answer for rounded coordinates ``key``, or None when never asked."""
        row = self.db.fetchone("cached_place", {"provider": provider, "lat_key": key[0], "lon_key": key[1]})
        return None if row is None else Place(**row["result"])

    def cache_place(self, provider: str, key: tuple[float, float], place: Place) -> None:
        self.db.execute("cache_place", {"provider": provider, "lat_key": key[0], "lon_key": key[1],
                                        "result": db.json(place.to_dict())})
