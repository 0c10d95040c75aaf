-- 0015: sidecars travel with their photos (XMP, Apple AAE, camera THM, Google Takeout JSON).
--
-- A sidecar whose photo never came is kept in quarantine as orphan_sidecar and re-attached
-- (moved next to the photo, the quarantine row replaced by an asset_sidecars row) when the photo
-- shows up. A Takeout album's metadata.json is attached to the first photo of its folder.
INSERT INTO quarantine_reasons (code, description) VALUES
    ('orphan_sidecar', 'a sidecar (XMP, AAE, THM, Takeout JSON) whose photo did not arrive within '
                       'PF_SIDECAR_WAIT_SECONDS: re-attached automatically when the photo shows up');
INSERT INTO ingest_event_kinds (kind, description) VALUES
    ('sidecar_attached', 'a sidecar was filed beside its photo (from the inbox or from quarantine)'),
    ('sidecar_duplicate_removed', 'a sidecar identical to one already attached to its photo, removed from the inbox');

ALTER TABLE asset_sidecars DROP CONSTRAINT asset_sidecars_kind_check;
ALTER TABLE asset_sidecars ADD CONSTRAINT asset_sidecars_kind_check
    CHECK (kind IN ('xmp', 'aae', 'takeout_json', 'thm', 'takeout_album'));

-- Finding a sidecar's photo by the inbox name it came with (case-insensitive prefix of the path):
-- the photos filed or recognised as duplicates, and the orphan sidecars waiting in quarantine.
CREATE INDEX ingest_events_photo_source ON ingest_events (lower(source_path) text_pattern_ops)
    WHERE kind IN ('ingested', 'duplicate_removed', 'duplicate_restored') AND asset_id IS NOT NULL;
CREATE INDEX quarantine_orphan_sidecars ON quarantine (lower(source_path) text_pattern_ops)
    WHERE reason = 'orphan_sidecar' AND status = 'quarantined';
CREATE INDEX asset_sidecars_albums ON asset_sidecars (lower(source_path) text_pattern_ops)
    WHERE kind = 'takeout_album';
