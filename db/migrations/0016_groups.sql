-- 0016: pairs and groups (Live Photos, RAW+JPEG, edits, bursts) on top of 0014.
--
-- The librarian finds a late member's partners (the MOV minutes after its still) by the
-- identifiers it keeps in media_assets.metadata: the Apple ContentIdentifier, the BurstUUID and
-- the "pair name" (inbox folder + normalised base name). These indexes make that lookup cheap.
CREATE INDEX media_assets_pf_content_id ON media_assets ((metadata ->> 'PF:ContentIdentifier'))
    WHERE metadata ? 'PF:ContentIdentifier';
CREATE INDEX media_assets_pf_burst_id ON media_assets ((metadata ->> 'PF:BurstUUID'))
    WHERE metadata ? 'PF:BurstUUID';
CREATE INDEX media_assets_pf_pair_name ON media_assets ((metadata ->> 'PF:PairName'))
    WHERE metadata ? 'PF:PairName';

-- One holder per role, except the roles a group may have many of (edits, burst frames): in
-- particular exactly one primary-like member (still / jpeg / original / primary) per group.
CREATE UNIQUE INDEX media_assets_one_per_role ON media_assets (group_id, group_role)
    WHERE group_id IS NOT NULL AND group_role NOT IN ('edited', 'member');

INSERT INTO ingest_event_kinds (kind, description) VALUES
    ('grouped', 'an asset joined a group (Live Photo, RAW+JPEG, edit, burst): detail has kind and role');
