-- Users' second factor (TOTP): its secret, whether enrolment is confirmed, the last step used,
-- the recovery codes' hashes; sessions limited to enrolling it.
ALTER TABLE users
    ADD COLUMN totp_secret    text    NOT NULL DEFAULT '',
    ADD COLUMN totp_confirmed boolean NOT NULL DEFAULT false,
    ADD COLUMN totp_last_step bigint  NOT NULL DEFAULT 0,
    ADD COLUMN totp_recovery  text[]  NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN totp_enrol boolean NOT NULL DEFAULT false;
