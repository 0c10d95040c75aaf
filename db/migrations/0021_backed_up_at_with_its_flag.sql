-- 0021: backed_up_at is written in the same row update as the flag it dates.
-- The backup completed a file in two UPDATEs of the same row (the stage engine sets
-- is_backed_up, then the backup set backed_up_at): every index of media_assets written twice per
-- file. This trigger stamps backed_up_at when is_backed_up turns true, unless the statement sets
-- backed_up_at itself (a restore registering files keeps the time it knows).
CREATE FUNCTION media_assets_stamp_backed_up_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.backed_up_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER media_assets_backed_up_at
    BEFORE UPDATE OF is_backed_up ON media_assets
    FOR EACH ROW
    WHEN (NEW.is_backed_up AND NOT OLD.is_backed_up AND NEW.backed_up_at IS NOT DISTINCT FROM OLD.backed_up_at)
    EXECUTE FUNCTION media_assets_stamp_backed_up_at();
