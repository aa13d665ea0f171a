-- User names unique without regard to case: the upgrade refuses, naming them, while two names
-- differ only in case (rename one first). Passwords that must be changed, their age (existing
-- ones count from this upgrade), sessions limited to a change.
DO $$
DECLARE
    clash text;
BEGIN
    SELECT string_agg(username, ', ' ORDER BY username) INTO clash FROM users
    WHERE lower(username) IN (SELECT lower(username) FROM users GROUP BY 1 HAVING count(*) > 1);
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'user names differ only in case: %; rename all but one before upgrading', clash;
    END IF;
END
$$;
CREATE UNIQUE INDEX users_username_nocase ON users (lower(username));
ALTER TABLE users
    ADD COLUMN must_change         boolean     NOT NULL DEFAULT false,
    ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE sessions ADD COLUMN must_change boolean NOT NULL DEFAULT false;
