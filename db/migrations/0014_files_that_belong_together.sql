-- 0014: files that belong together (sidecars, groups, motion photos).
--
-- The schema is laid down in one step so the librarian (sidecars, groups), the motion-photo
-- stage and `photo-factory assets` can be built against it independently. Codes (quarantine
-- reasons, event kinds) are added by the migrations of the features that use them.

-- A group of assets that are one moment or one picture: a Live Photo (still + video), a RAW+JPEG
-- pair, an original and its edit, a burst. `key` is the identifier that made the group when
-- there is one (Apple ContentIdentifier, BurstUUID); NULL when it was matched by name and time.
CREATE TABLE asset_groups (
    id         bigserial   PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('live_photo', 'raw_jpeg', 'edit', 'burst')),
    key        text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX asset_groups_kind_key ON asset_groups (kind, key) WHERE key IS NOT NULL;

-- Each member stays its own asset; an asset belongs to at most one group. The role names say
-- which member is the primary-like one (still / jpeg / original / primary).
ALTER TABLE media_assets
    ADD COLUMN group_id   bigint REFERENCES asset_groups (id) ON DELETE SET NULL,
    ADD COLUMN group_role text CHECK (group_role IN
        ('still', 'video', 'raw', 'jpeg', 'original', 'edited', 'primary', 'member')),
    -- the embedded video of a motion photo, extracted unchanged (relative to PF_STORAGE_DIR,
    -- Derivatives/motion/<path under Library/>.mp4); NULL when there is none (yet).
    ADD COLUMN motion_video text;
ALTER TABLE media_assets ADD CONSTRAINT media_assets_group_role_with_group
    CHECK ((group_id IS NULL) = (group_role IS NULL));
CREATE INDEX media_assets_group ON media_assets (group_id) WHERE group_id IS NOT NULL;

-- A sidecar filed beside its photo (XMP, Apple AAE, Google Takeout JSON, camera THM). Attached
-- sidecars only: one whose photo never came is a quarantine row (reason orphan_sidecar) until it
-- is re-attached. Sidecars are backed up and restored like the originals.
CREATE TABLE asset_sidecars (
    id            bigserial   PRIMARY KEY,
    asset_id      bigint      NOT NULL REFERENCES media_assets (id) ON DELETE CASCADE,
    -- relative to PF_STORAGE_DIR, e.g. Library/2024/2024-01-31/IMG_0001.JPG.xmp
    library_path  text        NOT NULL UNIQUE,
    kind          text        NOT NULL CHECK (kind IN ('xmp', 'aae', 'takeout_json', 'thm')),
    original_name text        NOT NULL,
    source_path   text,                      -- where it was found, relative to the inbox
    size_bytes    bigint      NOT NULL CHECK (size_bytes >= 0),
    sha256        char(64)    NOT NULL,
    metadata      jsonb       NOT NULL DEFAULT '{}'::jsonb,  -- what was read from it
    is_backed_up  boolean     NOT NULL DEFAULT false,
    backed_up_at  timestamptz,
    attached_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_sidecars_asset ON asset_sidecars (asset_id);
CREATE INDEX asset_sidecars_pending_backup ON asset_sidecars (id) WHERE NOT is_backed_up;
