-- Mail bodies (a few KB of HTML each) are compressed when stored. PostgreSQL's default, pglz,
-- cost about 15 ms per 1,000 invitation emails in a bulk (measured on this machine: 20 ms
-- with pglz, 6 ms with lz4 for 1,000 rows of 3 KB); lz4 compresses as well for this text.
-- PGlite is built without lz4: there the columns keep the default.
DO $$
BEGIN
  ALTER TABLE mail_outbox ALTER COLUMN html_body SET COMPRESSION lz4, ALTER COLUMN text_body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  NULL;
END
$$;
