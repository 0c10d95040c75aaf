"""Rows for the dashboard benchmark, generated in SQL: assets over 20 years with cameras, places
and locations, ingest events, heartbeat history, stage jobs (pending, in flight, failed)."""

from __future__ import annotations

SEED_SQL = """
INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type, captured_local,
       capture_date, date_source, tz_source, camera_make, camera_model, is_thumbnailed, is_geocoded,
       is_backed_up, location, country_code, country, region, city, geocoded_at, ingested_at)
SELECT lpad(to_hex(i), 64, '0'),
       'Library/' || to_char(d, 'YYYY/YYYY-MM-DD') || '/IMG_' || i || '.JPG',
       'IMG_' || i || '.JPG', 2000000 + i %% 5000000,
       (ARRAY['image', 'image', 'image', 'video', 'raw'])[1 + i %% 5],
       d, d::date, 'EXIF:DateTimeOriginal', 'configured',
       (ARRAY['Apple', 'Canon', 'Sony', 'Google', 'Fujifilm'])[1 + i %% 5],
       (ARRAY['iPhone 12', 'EOS R6', 'A7 III', 'Pixel 7', 'X-T4', 'iPhone 15'])[1 + i %% 6],
       i %% 50 <> 0, i %% 3 = 0 AND i %% 50 <> 0, i %% 20 <> 0,
       CASE WHEN i %% 3 = 0 THEN jsonb_build_object('lat', 40 + (i %% 200) / 10.0, 'lon', (i %% 300) / 10.0) END,
       CASE WHEN i %% 3 = 0 AND i %% 50 <> 0 THEN (ARRAY['DE', 'CH', 'FR', 'IT'])[1 + i %% 4] END,
       CASE WHEN i %% 3 = 0 AND i %% 50 <> 0 THEN (ARRAY['Germany', 'Switzerland', 'France', 'Italy'])[1 + i %% 4] END,
       CASE WHEN i %% 3 = 0 AND i %% 50 <> 0 THEN 'Region ' || (i %% 997 %% 37) END,
       CASE WHEN i %% 3 = 0 AND i %% 50 <> 0 THEN 'Town ' || (i %% 997) END,
       CASE WHEN i %% 3 = 0 AND i %% 50 <> 0 THEN now() END,
       now() - make_interval(secs => (%(n)s - i) * 2)
  FROM generate_series(1, %(n)s) AS i,
       LATERAL (SELECT timestamp '2006-01-01' + make_interval(mins => (i::bigint * 10512000 / %(n)s)::int)
                       + make_interval(secs => i %% 60) AS d) AS t;

INSERT INTO ingest_events (occurred_at, kind, asset_id)
SELECT ingested_at, 'ingested', id FROM media_assets;
INSERT INTO ingest_events (occurred_at, kind, source_path)
SELECT now() - make_interval(mins => i %% 10000), (ARRAY['duplicate_removed', 'quarantined', 'error'])[1 + i %% 3],
       'x/' || i FROM generate_series(1, %(n)s / 20) AS i;

INSERT INTO stage_jobs (asset_id, stage, state, attempts, reason_code, last_error, claimed_by, claimed_at)
SELECT id, 'thumbnails', CASE WHEN id %% 7 = 0 THEN 'failed' WHEN id %% 11 = 0 THEN 'claimed' ELSE 'pending' END,
       1, CASE WHEN id %% 7 = 0 THEN 'undecodable' END, CASE WHEN id %% 7 = 0 THEN 'no' END,
       CASE WHEN id %% 7 <> 0 AND id %% 11 = 0 THEN 'w1' END, CASE WHEN id %% 7 <> 0 AND id %% 11 = 0 THEN now() END
  FROM media_assets WHERE NOT is_thumbnailed;

INSERT INTO system_status_history (service, status, message, recorded_at)
SELECT s, (ARRAY['ok', 'ok', 'ok', 'degraded', 'starting', 'error'])[1 + i %% 6], 'beat',
       now() - make_interval(secs => i * 60)
  FROM unnest(ARRAY['librarian', 'thumbnails', 'stitch', 'geocode', 'backup', 'service-monitor',
                    'dashboard', 'factory-db']) AS s, generate_series(1, 60 * 24 * 30) AS i;

INSERT INTO system_status (service, status, message, details, interval_s)
SELECT s, 'ok', 'beat', '{"queue_depth": 3, "rate_per_min": 12.5}'::jsonb, 60
  FROM unnest(ARRAY['librarian', 'thumbnails', 'stitch', 'geocode', 'backup', 'service-monitor',
                    'dashboard', 'factory-db']) AS s;

INSERT INTO quarantine (reason, detail, source_path, quarantine_path, original_name, size_bytes)
SELECT 'undecodable', 'x', 'q/' || i, 'Quarantine/undecodable/q' || i, 'q' || i || '.jpg', 10
  FROM generate_series(1, 2000) AS i;
"""

#: the tables the seed fills: their secondary indexes are dropped before and built after it (as a
#: restore does), which is much faster than maintaining them row by row
TABLES = ("media_assets", "ingest_events", "stage_jobs", "system_status_history")

SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef
  FROM pg_indexes i
 WHERE i.schemaname = 'public' AND i.tablename = ANY(%(tables)s)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)
"""
