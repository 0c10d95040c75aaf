-- 0013: panoramas chosen by hand, and places that say how they were found.

-- `photo-factory stitch --set` and the dashboard record 'manual' sets of library files chosen
-- after the fact. Such a file may already belong to an automatic set (rejected, or a folder set
-- that failed), so an asset may now be a source of several sets.
ALTER TABLE panoramas DROP CONSTRAINT panoramas_detection_check;
ALTER TABLE panoramas ADD CONSTRAINT panoramas_detection_check
    CHECK (detection IN ('folder', 'sequence', 'manual'));
ALTER TABLE panorama_sources DROP CONSTRAINT panorama_sources_asset_id_key;
CREATE INDEX panorama_sources_asset ON panorama_sources (asset_id);

-- Places: what kind of spot it is ('land', 'coast': within the coastal band of a country's
-- boundary, 'ocean': no country near), the distance to the nearest known town (the city is named
-- only within PF_GEOCODE_MAX_DISTANCE_KM) and which data gave the answer.
ALTER TABLE media_assets
    ADD COLUMN place_kind        text CHECK (place_kind IN ('land', 'coast', 'ocean')),
    ADD COLUMN place_distance_km real,
    ADD COLUMN place_source      text;
-- The dashboard's places table groups by these: an index-only scan.
CREATE INDEX media_assets_places ON media_assets (country_code, country, region, city)
    WHERE geocoded_at IS NOT NULL;
