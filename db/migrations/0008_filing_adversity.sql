-- 0008: filing under adversity — the exact original name, the new event kinds, and the Retry move
-- in the journal.

-- The exact original file name (the library name is a safe version of it): the name as text when
-- it is valid UTF-8, else 'b64:' and the base64 of its bytes (librarian.organize.name_from_db).
ALTER TABLE media_assets ADD COLUMN original_name_raw text;
ALTER TABLE quarantine ADD COLUMN original_name_raw text;

INSERT INTO ingest_event_kinds (kind, description) VALUES
    ('journal_set_aside', 'a journal entry that could not be replayed, kept in the event (files untouched)'),
    ('source_not_removed', 'filed or quarantined, but the inbox file could not be removed (kept, never taken again)'),
    ('left_in_inbox', 'could not be moved out of the inbox (e.g. unreadable across devices): recorded, left alone'),
    ('bit_rot', 'a library copy no longer matches its SHA-256: set aside and replaced by a good copy');

-- A quarantine Retry moves the file back into the inbox, across devices by a copy: journaled.
ALTER TABLE ingest_journal DROP CONSTRAINT ingest_journal_action_check;
ALTER TABLE ingest_journal ADD CONSTRAINT ingest_journal_action_check
    CHECK (action IN ('file', 'quarantine', 'restore', 'release'));

-- The librarian looks up kept inbox files by path on every batch.
CREATE INDEX ingest_events_kept_sources ON ingest_events (source_path)
    WHERE kind IN ('source_not_removed', 'left_in_inbox');
