-- 0005: panoramas (stitched from sets of source images) and places (reverse-geocoded GPS).

-- Places: where a photo was taken, filled by `photo-factory geocode`. All NULL with a non-NULL
-- geocoded_at means "looked up, resolved to nothing" (open sea, no data): done, not retried.
ALTER TABLE media_assets
    ADD COLUMN country_code     char(2),        -- ISO 3166-1 alpha-2, upper case
    ADD COLUMN country          text,
    ADD COLUMN region           text,           -- admin1 (state, Land, région)
    ADD COLUMN subregion        text,           -- admin2 (county, Kreis, département)
    ADD COLUMN city             text,
    ADD COLUMN geocode_provider text,           -- 'offline' or 'nominatim'
    ADD COLUMN geocoded_at      timestamptz,
    -- stitch detection: the periodic scan looked at this image (as a candidate or not).
    ADD COLUMN stitch_scanned   boolean NOT NULL DEFAULT false;

CREATE INDEX media_assets_country_city ON media_assets (country_code, city);
CREATE INDEX media_assets_pending_stitch_scan ON media_assets (camera_make, camera_model, captured_at)
    WHERE NOT stitch_scanned AND media_type = 'image';

-- Nominatim answers keyed by rounded coordinates, so neighbouring photos cost one request.
-- result is {} when the service knew nothing there.
CREATE TABLE geocode_cache (
    provider    text        NOT NULL,
    lat_key     numeric(9,5) NOT NULL,
    lon_key     numeric(9,5) NOT NULL,
    result      jsonb       NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, lat_key, lon_key)
);

-- A candidate set of source images and what became of it. set_key (the sorted source ids) makes
-- detection idempotent: a set is recorded once and never redone.
CREATE TABLE panoramas (
    id            bigserial   PRIMARY KEY,
    set_key       text        NOT NULL UNIQUE,
    detection     text        NOT NULL CHECK (detection IN ('folder', 'sequence')),
    status        text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'stitching', 'done', 'rejected', 'failed')),
    -- why a set was rejected (not a panorama) or failed (a panorama that would not stitch)
    reason        text        CHECK (reason IN (
                      'no_overlap', 'burst', 'too_few_images', 'source_missing', 'source_undecodable',
                      'need_more_images', 'homography_failed', 'camera_params_failed',
                      'stitch_error', 'write_failed')),
    detail        text        NOT NULL DEFAULT '',
    source_count  integer     NOT NULL CHECK (source_count >= 1),
    output_path   text,                         -- relative to PF_STORAGE_DIR
    asset_id      bigint      REFERENCES media_assets (id) ON DELETE SET NULL,
    width         integer,
    height        integer,
    attempts      integer     NOT NULL DEFAULT 0,
    not_before    timestamptz NOT NULL DEFAULT now(),
    claimed_by    text,
    claimed_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status IN ('rejected', 'failed')) = (reason IS NOT NULL))
);
CREATE INDEX panoramas_pending ON panoramas (not_before, id) WHERE status IN ('pending', 'stitching');
CREATE INDEX panoramas_status ON panoramas (status, updated_at);

-- Which assets a set is made of, in shooting order. An asset is a source of at most one set.
CREATE TABLE panorama_sources (
    panorama_id  bigint  NOT NULL REFERENCES panoramas (id) ON DELETE CASCADE,
    asset_id     bigint  NOT NULL REFERENCES media_assets (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    PRIMARY KEY (panorama_id, asset_id),
    UNIQUE (asset_id)
);
