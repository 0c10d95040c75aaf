-- Reason and event vocabularies as tables instead of CHECK lists, so that a later migration adds
-- a code with one INSERT (several features add codes independently) and the dashboard can list
-- every code with its meaning.
CREATE TABLE quarantine_reasons (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    description text NOT NULL
);
INSERT INTO quarantine_reasons (code, description) VALUES
    ('empty_file', 'the file has zero bytes'),
    ('unsupported_type', 'not a photo or video type Photo Factory files'),
    ('unreadable', 'the file could not be read (permissions or I/O error)'),
    ('undecodable', 'the image data cannot be decoded'),
    ('truncated', 'the file ends early (incomplete upload or copy)'),
    ('symlink', 'a symbolic link: never followed, moved aside as a link'),
    ('not_regular_file', 'a device, pipe or socket, not a file'),
    ('library_mismatch', 'a library copy that no longer matches its recorded content'),
    ('ingest_error', 'ingest failed repeatedly for an unexpected reason (see detail)');
ALTER TABLE quarantine DROP CONSTRAINT quarantine_reason_check;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_reason_fkey
    FOREIGN KEY (reason) REFERENCES quarantine_reasons (code);

CREATE TABLE ingest_event_kinds (
    kind        text PRIMARY KEY CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
    description text NOT NULL
);
INSERT INTO ingest_event_kinds (kind, description) VALUES
    ('ingested', 'filed into the library'),
    ('duplicate_removed', 'an exact duplicate of a library file, removed from the inbox'),
    ('duplicate_restored', 'an inbox copy put back a missing library file'),
    ('quarantined', 'moved to quarantine with a reason'),
    ('registered_orphan', 'a library file without a row was recorded'),
    ('missing_original', 'a recorded library file is missing'),
    ('error', 'an unexpected error');
ALTER TABLE ingest_events DROP CONSTRAINT ingest_events_kind_check;
ALTER TABLE ingest_events ADD CONSTRAINT ingest_events_kind_fkey
    FOREIGN KEY (kind) REFERENCES ingest_event_kinds (kind);
