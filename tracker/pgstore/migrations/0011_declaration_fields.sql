-- Declarations: the type, cargo, grade, declared net weight, the driver's card and the e-seal
-- (tracker.Declaration). Existing declarations are normal.
ALTER TABLE declarations
    ADD COLUMN type            text NOT NULL DEFAULT 'normal',
    ADD COLUMN cargo           text NOT NULL DEFAULT '',
    ADD COLUMN grade           text NOT NULL DEFAULT '',
    ADD COLUMN declared_net_kg double precision,
    ADD COLUMN driver_card     text NOT NULL DEFAULT '',
    ADD COLUMN seal_id         text NOT NULL DEFAULT '';
