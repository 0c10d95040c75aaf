-- Backup and restore queries (run only by processor/backup/store.py).

-- name: start_run
INSERT INTO backup_runs (host, remote) VALUES (%(host)s, %(remote)s) RETURNING id;

-- name: finish_run
UPDATE backup_runs
   SET finished_at = now(), files = %(files)s, bytes = %(bytes)s, failed_files = %(failed_files)s,
       result = %(result)s, reason = %(reason)s, error = %(error)s, dump_name = %(dump_name)s
 WHERE id = %(id)s;

-- name: record_dump
INSERT INTO backup_dumps (name, remote, created_at, size_bytes, sha256, run_id)
VALUES (%(name)s, %(remote)s, %(created_at)s, %(size_bytes)s, %(sha256)s, %(run_id)s)
ON CONFLICT (name) DO NOTHING;

-- name: mark_dump_expired
UPDATE backup_dumps SET expired_at = now() WHERE name = %(name)s;

-- name: last_dump_at
SELECT max(created_at) AS at FROM backup_dumps WHERE remote = %(remote)s AND expired_at IS NULL;

-- name: live_dump_names
SELECT name FROM backup_dumps WHERE remote = %(remote)s AND expired_at IS NULL;

-- name: backup_status
SELECT (SELECT max(finished_at) FROM backup_runs WHERE result = 'ok') AS last_success_at,
       (SELECT count(*) FROM media_assets WHERE is_backed_up) AS backed_up;

-- name: count_assets
SELECT count(*) AS n FROM media_assets;

-- name: has_tables
SELECT count(*) AS n FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE';

-- name: select_assets
-- The restore selection: everything, one file, or a capture-date range (inclusive).
SELECT id, library_path, sha256, size_bytes
  FROM media_assets
 WHERE (%(path)s::text IS NULL OR library_path = %(path)s)
   AND (%(since)s::date IS NULL OR capture_date >= %(since)s)
   AND (%(until)s::date IS NULL OR capture_date <= %(until)s)
 ORDER BY library_path;

-- name: all_library_paths
SELECT library_path FROM media_assets;

-- name: backed_up_assets
SELECT library_path, sha256 FROM media_assets WHERE is_backed_up ORDER BY library_path;

-- name: mark_path_backed_up
UPDATE media_assets SET is_backed_up = true, backed_up_at = coalesce(backed_up_at, now())
 WHERE library_path = %(library_path)s AND sha256 = %(sha256)s;

-- name: register_minimal
-- Fallback re-registration of an original found on the remote but not in the dump, used only
-- when the librarian's metadata reader is not available: facts from the file and its folder.
INSERT INTO media_assets (sha256, library_path, original_name, size_bytes, media_type,
                          captured_local, capture_date, date_source, tz_source,
                          is_backed_up, backed_up_at, metadata)
VALUES (%(sha256)s, %(library_path)s, %(original_name)s, %(size_bytes)s, %(media_type)s,
        %(capture_date)s::timestamp, %(capture_date)s, 'library_folder', 'unknown',
        true, now(), %(metadata)s)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: start_drill
-- detail.scratch names the drill's scratch database and folder (pf-drill-<token>) before either
-- exists: a drill killed -9 leaves them, and the next drill finds them through this row.
INSERT INTO restore_drills (remote, detail) VALUES (%(remote)s, jsonb_build_object('scratch', %(scratch)s::text))
RETURNING id;

-- name: hold_drill
-- A session lock naming a running drill's scratch (held until its connection ends: a drill
-- killed -9 loses it with its connection); 0x70666472 = "pfdr".
SELECT pg_advisory_lock(1885758578, hashtext(%(scratch)s));

-- name: running_drills
SELECT id, detail->>'scratch' AS scratch FROM restore_drills WHERE result = 'running' AND detail ? 'scratch';

-- name: try_drill
-- true: nobody holds the drill's lock (its drill is gone) and now this session does.
SELECT pg_try_advisory_lock(1885758578, hashtext(%(scratch)s)) AS free;

-- name: release_drill
SELECT pg_advisory_unlock(1885758578, hashtext(%(scratch)s));

-- name: interrupt_drill
UPDATE restore_drills
   SET result = 'interrupted', finished_at = now(),
       detail = detail || jsonb_build_object('error', 'the drill was stopped before its end (killed); its scratch was removed by a later drill')
 WHERE id = %(id)s AND result = 'running';

-- name: finish_drill
UPDATE restore_drills
   SET finished_at = now(), dump_name = %(dump_name)s, result = %(result)s,
       files_checked = %(files_checked)s, mismatches = %(mismatches)s, missing = %(missing)s,
       detail = detail || %(detail)s
 WHERE id = %(id)s;

-- name: record_registration_event
INSERT INTO ingest_events (kind, asset_id, source_path, detail)
VALUES ('registered_orphan', %(asset_id)s, %(library_path)s, %(detail)s);

-- name: public_tables
SELECT table_name AS name FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name;

-- name: close_running_backup_runs
UPDATE backup_runs
   SET result = 'interrupted', finished_at = coalesce(finished_at, now()),
       error = coalesce(error, 'still running when the restored dump was taken; closed by restore')
 WHERE result = 'running';

-- name: close_running_drills
UPDATE restore_drills SET result = 'interrupted', finished_at = coalesce(finished_at, now())
 WHERE result = 'running';

-- name: close_open_incidents
-- Incidents of the old installation: closed without notifying anyone (they are history).
UPDATE alert_incidents
   SET resolved_at = now(), open_notified_at = coalesce(open_notified_at, now()),
       resolve_notified_at = now(), message = message || ' (closed by restore)'
 WHERE resolved_at IS NULL;

-- name: clear_heartbeats
DELETE FROM system_status;

-- name: clear_stage_workers
DELETE FROM stage_workers;

-- name: release_claims
-- (a claim that was started cost its attempt already: it is not refunded, as for any dead worker)
UPDATE stage_jobs SET state = 'pending', claimed_by = NULL, claimed_at = NULL, started_at = NULL, updated_at = now()
 WHERE state = 'claimed';

-- name: release_stitching
UPDATE panoramas SET status = 'pending', claimed_by = NULL, claimed_at = NULL, updated_at = now()
 WHERE status = 'stitching';

-- name: open_quarantine
SELECT id, quarantine_path FROM quarantine WHERE status IN ('quarantined', 'retry_requested');

-- name: mark_quarantine_file_missing
UPDATE quarantine SET status = 'file_missing', updated_at = now() WHERE id = ANY(%(ids)s);

-- name: thumbnailed_assets
SELECT id, library_path FROM media_assets WHERE is_thumbnailed ORDER BY id;

-- name: motion_videos
SELECT id, motion_video FROM media_assets WHERE is_thumbnailed AND motion_video IS NOT NULL ORDER BY id;

-- name: reset_thumbnails
UPDATE media_assets SET is_thumbnailed = false, updated_at = now() WHERE id = ANY(%(ids)s);

-- name: record_found_dump
-- A dump found on the remote that the restored catalogue does not know (uploaded after the
-- restored one): recorded so that retention treats it like every other dump.
INSERT INTO backup_dumps (name, remote, created_at, size_bytes, sha256)
VALUES (%(name)s, %(remote)s, %(created_at)s, %(size_bytes)s, %(sha256)s)
ON CONFLICT (name) DO NOTHING;

-- name: pending_sidecars
-- Attached sidecars (XMP, AAE, THM, Takeout JSON) not yet on the remote, photos first backed up.
SELECT s.id, s.library_path, s.sha256, s.size_bytes
  FROM asset_sidecars s
 WHERE NOT s.is_backed_up
 ORDER BY s.id
 LIMIT %(limit)s;

-- name: mark_sidecars_backed_up
UPDATE asset_sidecars SET is_backed_up = true, backed_up_at = now() WHERE id = ANY(%(ids)s);

-- name: select_sidecars
-- The selected photos' sidecars; one path selects that sidecar, or every sidecar of that photo.
SELECT s.id, s.library_path, s.sha256, s.size_bytes, s.is_backed_up
  FROM asset_sidecars s JOIN media_assets a ON a.id = s.asset_id
 WHERE (%(path)s::text IS NULL OR s.library_path = %(path)s OR a.library_path = %(path)s)
   AND (%(since)s::date IS NULL OR a.capture_date >= %(since)s)
   AND (%(until)s::date IS NULL OR a.capture_date <= %(until)s)
 ORDER BY s.library_path;

-- name: all_sidecar_paths
SELECT library_path FROM asset_sidecars;

-- name: assets_in_folder
SELECT id, library_path FROM media_assets
 WHERE library_path LIKE %(folder)s ESCAPE '\' AND library_path NOT LIKE %(deeper)s ESCAPE '\';

-- name: register_sidecar
INSERT INTO asset_sidecars (asset_id, library_path, kind, original_name, size_bytes, sha256, is_backed_up,
                            backed_up_at, metadata)
VALUES (%(asset_id)s, %(library_path)s, %(kind)s, %(original_name)s, %(size_bytes)s, %(sha256)s, true, now(),
        '{"registered": "restore: on the remote, newer than the dump"}')
ON CONFLICT (library_path) DO NOTHING
RETURNING id;

-- name: photo_companions
-- What comes back with one photo restored alone (--file): its sidecars and its motion video,
-- with the byte range of the original the video was copied from (PF:MotionPhoto).
SELECT a.id, a.motion_video, a.metadata -> 'PF:MotionPhoto' AS motion,
       coalesce((SELECT array_agg(s.library_path ORDER BY s.library_path)
                   FROM asset_sidecars s WHERE s.asset_id = a.id), '{}') AS sidecars
  FROM media_assets a
 WHERE a.library_path = %(path)s;
