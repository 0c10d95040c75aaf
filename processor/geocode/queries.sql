-- Geocode service queries (run only by processor/geocode/store.py). Claiming is the stage
-- engine's (photo_factory/worker.py, stage 'geocode', flag is_geocoded, location IS NOT NULL).

-- name: save_place
UPDATE media_assets
   SET country_code = %(country_code)s, country = %(country)s, region = %(region)s,
       subregion = %(subregion)s, city = %(city)s, geocode_provider = %(provider)s,
       place_kind = %(kind)s, place_distance_km = %(distance_km)s, place_source = %(source)s,
       geocoded_at = now(), updated_at = now()
 WHERE id = %(asset_id)s;

-- name: cached_place
SELECT result FROM geocode_cache
 WHERE provider = %(provider)s AND lat_key = %(lat_key)s AND lon_key = %(lon_key)s;

-- name: cache_place
INSERT INTO geocode_cache (provider, lat_key, lon_key, result)
VALUES (%(provider)s, %(lat_key)s, %(lon_key)s, %(result)s)
ON CONFLICT (provider, lat_key, lon_key) DO UPDATE SET result = EXCLUDED.result, fetched_at = now();

-- name: save_places
-- The places of a batch (offline lookups) in ONE statement: the dashboard's rollup trigger runs
-- once for the batch, not once a photo. Parallel arrays, one element per asset.
UPDATE media_assets m
   SET country_code = p.country_code, country = p.country, region = p.region,
       subregion = p.subregion, city = p.city, geocode_provider = %(provider)s,
       place_kind = p.kind, place_distance_km = p.distance_km, place_source = p.source,
       geocoded_at = now(), updated_at = now()
  FROM unnest(%(ids)s::bigint[], %(country_code)s::text[], %(country)s::text[], %(region)s::text[],
              %(subregion)s::text[], %(city)s::text[], %(kind)s::text[], %(distance_km)s::real[],
              %(source)s::text[])
       AS p (id, country_code, country, region, subregion, city, kind, distance_km, source)
 WHERE m.id = p.id;
