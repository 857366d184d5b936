-- A statement that must fail whole when a check inside it does not hold (an invitation write whose
-- COMMIT travels with it: src/db/pipeline.ts) calls this in a CASE branch: it raises `message` with
-- the SQLSTATE `code`, so the transaction rolls back and the caller recognizes the refusal.
CREATE FUNCTION roster_refuse(message text, code text) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING MESSAGE = message, ERRCODE = code;
END
$$;
