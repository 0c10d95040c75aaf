-- 0019: what the dashboard reads at a glance on a million assets, without counting the table.
--
-- library_months: files, bytes and per-stage done counts per (capture month, media type), kept by
-- statement-level triggers with transition tables (one upsert per statement, whatever its size;
-- rows are upserted in key order so two writers cannot deadlock on them). A 20-year library is
-- at most 720 rows: totals, the month heatmap and "done (total)" sum this, never media_assets.
--
-- stage_done_daily: how many items each flag stage finished per day (a flag going false -> true),
-- for "done today". A reset (true -> false) does not un-finish a past day.
--
-- A full restore (plain SQL of a dump) loads both tables' rows before it creates the triggers,
-- so the totals stay exact; `SELECT dashboard_rollups_rebuild()` recomputes them if ever needed.

CREATE TABLE library_months (
    month       date   NOT NULL,   -- the first day of the capture month
    media_type  text   NOT NULL,
    files       bigint NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0,
    located     bigint NOT NULL DEFAULT 0,   -- with a GPS location (the geocoder's work)
    thumbnailed bigint NOT NULL DEFAULT 0,
    geocoded    bigint NOT NULL DEFAULT 0,   -- located and geocoded
    backed_up   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (month, media_type)
);

CREATE TABLE stage_done_daily (
    stage  text   NOT NULL,
    day    date   NOT NULL,
    n      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (stage, day)
);

-- library_places / library_cameras: files per place (geocoded assets) and per camera, for the
-- Library's pickers and places table (a few thousand rows instead of a million-row GROUP BY).
-- Missing parts are '' (primary keys cannot hold NULL).
CREATE TABLE library_places (
    country_code text   NOT NULL,
    country      text   NOT NULL,
    region       text   NOT NULL,
    city         text   NOT NULL,
    files        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (country_code, country, region, city)
);

CREATE TABLE library_cameras (
    camera_make  text   NOT NULL,
    camera_model text   NOT NULL,
    files        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (camera_make, camera_model)
);
-- the pickers list the places and cameras with the most files first
CREATE INDEX library_places_files ON library_places (files DESC);
CREATE INDEX library_cameras_files ON library_cameras (files DESC);

-- One trigger function per event: a transition table is visible only in its own trigger function.
CREATE FUNCTION library_months_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH summed AS (
        SELECT date_trunc('month', capture_date)::date AS month, media_type, count(*) AS files, sum(size_bytes) AS bytes,
               count(*) FILTER (WHERE location IS NOT NULL) AS located,
               count(*) FILTER (WHERE is_thumbnailed) AS thumbnailed,
               count(*) FILTER (WHERE is_geocoded AND location IS NOT NULL) AS geocoded,
               count(*) FILTER (WHERE is_backed_up) AS backed_up
          FROM new_rows GROUP BY 1, 2
    )
    INSERT INTO library_months AS d (month, media_type, files, bytes, located, thumbnailed, geocoded, backed_up)
    SELECT * FROM summed ORDER BY month, media_type
    ON CONFLICT (month, media_type) DO UPDATE
       SET files = d.files + EXCLUDED.files, bytes = d.bytes + EXCLUDED.bytes,
           located = d.located + EXCLUDED.located, thumbnailed = d.thumbnailed + EXCLUDED.thumbnailed,
           geocoded = d.geocoded + EXCLUDED.geocoded, backed_up = d.backed_up + EXCLUDED.backed_up;
    WITH delta AS (
        SELECT coalesce(country_code, '') AS country_code, coalesce(country, '') AS country, coalesce(region, '') AS region, coalesce(city, '') AS city, 1 AS sign FROM new_rows WHERE geocoded_at IS NOT NULL
    ), summed AS (
        SELECT country_code, country, region, city, sum(sign) AS files FROM delta GROUP BY 1, 2, 3, 4
    )
    INSERT INTO library_places AS p (country_code, country, region, city, files)
    SELECT * FROM summed WHERE files <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (country_code, country, region, city) DO UPDATE SET files = p.files + EXCLUDED.files;
    WITH delta AS (
        SELECT coalesce(camera_make, '') AS camera_make, coalesce(camera_model, '') AS camera_model, 1 AS sign FROM new_rows
    ), summed AS (
        SELECT camera_make, camera_model, sum(sign) AS files FROM delta GROUP BY 1, 2
    )
    INSERT INTO library_cameras AS c (camera_make, camera_model, files)
    SELECT * FROM summed WHERE files <> 0 ORDER BY 1, 2
    ON CONFLICT (camera_make, camera_model) DO UPDATE SET files = c.files + EXCLUDED.files;
    RETURN NULL;
END
$$;

CREATE FUNCTION library_months_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH summed AS (
        SELECT date_trunc('month', capture_date)::date AS month, media_type, count(*) AS files, sum(size_bytes) AS bytes,
               count(*) FILTER (WHERE location IS NOT NULL) AS located,
               count(*) FILTER (WHERE is_thumbnailed) AS thumbnailed,
               count(*) FILTER (WHERE is_geocoded AND location IS NOT NULL) AS geocoded,
               count(*) FILTER (WHERE is_backed_up) AS backed_up
          FROM old_rows GROUP BY 1, 2
    )
    UPDATE library_months d
       SET files = d.files - s.files, bytes = d.bytes - s.bytes, located = d.located - s.located,
           thumbnailed = d.thumbnailed - s.thumbnailed, geocoded = d.geocoded - s.geocoded,
           backed_up = d.backed_up - s.backed_up
      FROM summed s
     WHERE d.month = s.month AND d.media_type = s.media_type;
    WITH delta AS (
        SELECT coalesce(country_code, '') AS country_code, coalesce(country, '') AS country, coalesce(region, '') AS region, coalesce(city, '') AS city, -1 AS sign FROM old_rows WHERE geocoded_at IS NOT NULL
    ), summed AS (
        SELECT country_code, country, region, city, sum(sign) AS files FROM delta GROUP BY 1, 2, 3, 4
    )
    INSERT INTO library_places AS p (country_code, country, region, city, files)
    SELECT * FROM summed WHERE files <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (country_code, country, region, city) DO UPDATE SET files = p.files + EXCLUDED.files;
    WITH delta AS (
        SELECT coalesce(camera_make, '') AS camera_make, coalesce(camera_model, '') AS camera_model, -1 AS sign FROM old_rows
    ), summed AS (
        SELECT camera_make, camera_model, sum(sign) AS files FROM delta GROUP BY 1, 2
    )
    INSERT INTO library_cameras AS c (camera_make, camera_model, files)
    SELECT * FROM summed WHERE files <> 0 ORDER BY 1, 2
    ON CONFLICT (camera_make, camera_model) DO UPDATE SET files = c.files + EXCLUDED.files;
    RETURN NULL;
END
$$;

CREATE FUNCTION library_months_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- items that became done in this statement, per flag stage, count for today
    INSERT INTO stage_done_daily AS s (stage, day, n)
    SELECT stage, current_date, n FROM (
        SELECT 'thumbnails' AS stage, count(*) FILTER (WHERE n.is_thumbnailed AND NOT o.is_thumbnailed) AS n
          FROM new_rows n JOIN old_rows o ON o.id = n.id
        UNION ALL
        SELECT 'geocode', count(*) FILTER (WHERE n.is_geocoded AND NOT o.is_geocoded AND n.location IS NOT NULL)
          FROM new_rows n JOIN old_rows o ON o.id = n.id
        UNION ALL
        SELECT 'backup', count(*) FILTER (WHERE n.is_backed_up AND NOT o.is_backed_up)
          FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) t
     WHERE n > 0
     ORDER BY stage
    ON CONFLICT (stage, day) DO UPDATE SET n = s.n + EXCLUDED.n;
    -- one signed delta per (month, type): +new rows, -old rows; only non-zero deltas are written
    WITH delta AS (
        SELECT date_trunc('month', capture_date)::date AS month, media_type, 1 AS sign, size_bytes, location IS NOT NULL AS located,
               is_thumbnailed, is_geocoded AND location IS NOT NULL AS geocoded, is_backed_up
          FROM new_rows
        UNION ALL
        SELECT date_trunc('month', capture_date)::date, media_type, -1, size_bytes, location IS NOT NULL,
               is_thumbnailed, is_geocoded AND location IS NOT NULL, is_backed_up
          FROM old_rows
    ), summed AS (
        SELECT month, media_type, sum(sign) AS files, sum(sign * size_bytes) AS bytes,
               coalesce(sum(sign) FILTER (WHERE located), 0) AS located,
               coalesce(sum(sign) FILTER (WHERE is_thumbnailed), 0) AS thumbnailed,
               coalesce(sum(sign) FILTER (WHERE geocoded), 0) AS geocoded,
               coalesce(sum(sign) FILTER (WHERE is_backed_up), 0) AS backed_up
          FROM delta
         GROUP BY month, media_type
    )
    INSERT INTO library_months AS d (month, media_type, files, bytes, located, thumbnailed, geocoded, backed_up)
    SELECT * FROM summed
     WHERE (files, bytes, located, thumbnailed, geocoded, backed_up) <> (0, 0, 0, 0, 0, 0)
     ORDER BY month, media_type
    ON CONFLICT (month, media_type) DO UPDATE
       SET files = d.files + EXCLUDED.files, bytes = d.bytes + EXCLUDED.bytes,
           located = d.located + EXCLUDED.located, thumbnailed = d.thumbnailed + EXCLUDED.thumbnailed,
           geocoded = d.geocoded + EXCLUDED.geocoded, backed_up = d.backed_up + EXCLUDED.backed_up;
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
                WHERE (n.country_code, n.country, n.region, n.city, n.geocoded_at IS NULL,
                       n.camera_make, n.camera_model)
                      IS DISTINCT FROM (o.country_code, o.country, o.region, o.city, o.geocoded_at IS NULL,
                       o.camera_make, o.camera_model)) THEN
        WITH delta AS (
            SELECT coalesce(country_code, '') AS country_code, coalesce(country, '') AS country, coalesce(region, '') AS region, coalesce(city, '') AS city, 1 AS sign FROM new_rows WHERE geocoded_at IS NOT NULL
            UNION ALL
            SELECT coalesce(country_code, '') AS country_code, coalesce(country, '') AS country, coalesce(region, '') AS region, coalesce(city, '') AS city, -1 AS sign FROM old_rows WHERE geocoded_at IS NOT NULL
        ), summed AS (
            SELECT country_code, country, region, city, sum(sign) AS files FROM delta GROUP BY 1, 2, 3, 4
        )
        INSERT INTO library_places AS p (country_code, country, region, city, files)
        SELECT * FROM summed WHERE files <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (country_code, country, region, city) DO UPDATE SET files = p.files + EXCLUDED.files;
        WITH delta AS (
            SELECT coalesce(camera_make, '') AS camera_make, coalesce(camera_model, '') AS camera_model, 1 AS sign FROM new_rows
            UNION ALL
            SELECT coalesce(camera_make, '') AS camera_make, coalesce(camera_model, '') AS camera_model, -1 AS sign FROM old_rows
        ), summed AS (
            SELECT camera_make, camera_model, sum(sign) AS files FROM delta GROUP BY 1, 2
        )
        INSERT INTO library_cameras AS c (camera_make, camera_model, files)
        SELECT * FROM summed WHERE files <> 0 ORDER BY 1, 2
        ON CONFLICT (camera_make, camera_model) DO UPDATE SET files = c.files + EXCLUDED.files;
    END IF;
    RETURN NULL;
END
$$;

-- Recompute the rollups from media_assets (run once below; by hand if ever in doubt).
CREATE FUNCTION dashboard_rollups_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM library_months;
    INSERT INTO library_months (month, media_type, files, bytes, located, thumbnailed, geocoded, backed_up)
    SELECT date_trunc('month', capture_date)::date, media_type, count(*), sum(size_bytes),
           count(*) FILTER (WHERE location IS NOT NULL), count(*) FILTER (WHERE is_thumbnailed),
           count(*) FILTER (WHERE is_geocoded AND location IS NOT NULL), count(*) FILTER (WHERE is_backed_up)
      FROM media_assets GROUP BY 1, 2;
    DELETE FROM library_places;
    INSERT INTO library_places (country_code, country, region, city, files)
    SELECT coalesce(country_code, ''), coalesce(country, ''), coalesce(region, ''), coalesce(city, ''), count(*)
      FROM media_assets WHERE geocoded_at IS NOT NULL GROUP BY 1, 2, 3, 4;
    DELETE FROM library_cameras;
    INSERT INTO library_cameras (camera_make, camera_model, files)
    SELECT coalesce(camera_make, ''), coalesce(camera_model, ''), count(*) FROM media_assets GROUP BY 1, 2;
$$;

LOCK TABLE media_assets IN SHARE ROW EXCLUSIVE MODE;
SELECT dashboard_rollups_rebuild();

CREATE TRIGGER library_months_insert AFTER INSERT ON media_assets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION library_months_insert();
CREATE TRIGGER library_months_delete AFTER DELETE ON media_assets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION library_months_delete();
CREATE TRIGGER library_months_update AFTER UPDATE ON media_assets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION library_months_update();

-- Browsing and search (keyset pagination: newest first by (capture_date, id), never OFFSET).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX media_assets_browse ON media_assets (capture_date, id);
CREATE INDEX media_assets_place_browse ON media_assets (country_code, city, capture_date, id);
CREATE INDEX media_assets_camera_browse ON media_assets (camera_model, capture_date, id);
CREATE INDEX media_assets_name_trgm ON media_assets USING gin (original_name gin_trgm_ops);
-- Failed items, newest first over every stage (stage_jobs_failed is per stage)
CREATE INDEX stage_jobs_failed_recent ON stage_jobs (updated_at DESC) WHERE state = 'failed';
-- the map: located photos, newest first
CREATE INDEX media_assets_located ON media_assets (capture_date, id) WHERE location IS NOT NULL;

-- ingest_hourly: ingest events per (hour, kind), for the History charts (a week of a big first
-- import is a million events; the chart reads at most 24 x 30 x kinds rows).
CREATE TABLE ingest_hourly (
    hour  timestamptz NOT NULL,
    kind  text        NOT NULL,
    n     bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, kind)
);

CREATE FUNCTION ingest_hourly_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ingest_hourly AS h (hour, kind, n)
    SELECT date_trunc('hour', occurred_at), kind, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (hour, kind) DO UPDATE SET n = h.n + EXCLUDED.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER ingest_hourly_insert AFTER INSERT ON ingest_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ingest_hourly_insert();

LOCK TABLE ingest_events IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO ingest_hourly (hour, kind, n)
SELECT date_trunc('hour', occurred_at), kind, count(*) FROM ingest_events GROUP BY 1, 2;

-- service_hourly: heartbeats per (service, hour) and how many said the service was up (ok,
-- degraded, starting), for the History uptime (30 days of beats are ~400,000 rows).
CREATE TABLE service_hourly (
    service  text        NOT NULL,
    hour     timestamptz NOT NULL,
    beats    bigint      NOT NULL DEFAULT 0,
    up       bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (service, hour)
);

CREATE FUNCTION service_hourly_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO service_hourly AS h (service, hour, beats, up)
    SELECT service, date_trunc('hour', recorded_at), count(*),
           count(*) FILTER (WHERE status IN ('ok', 'degraded', 'starting'))
      FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (service, hour) DO UPDATE SET beats = h.beats + EXCLUDED.beats, up = h.up + EXCLUDED.up;
    RETURN NULL;
END
$$;

CREATE TRIGGER service_hourly_insert AFTER INSERT ON system_status_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION service_hourly_insert();

LOCK TABLE system_status_history IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO service_hourly (service, hour, beats, up)
SELECT service, date_trunc('hour', recorded_at), count(*),
       count(*) FILTER (WHERE status IN ('ok', 'degraded', 'starting'))
  FROM system_status_history GROUP BY 1, 2;
CREATE INDEX service_hourly_hour ON service_hourly (hour);
