-- Two different reports of one device for the same device time are both kept (a vendor alarm
-- re-sent with the time unchanged; a broken, cloned or forged device): variant tells them apart,
-- 0 for the first. Rows stored before this migration are the first of their time.
ALTER TABLE fixes ADD COLUMN variant smallint NOT NULL DEFAULT 0;
DROP INDEX fixes_device_time;
-- A resent report (same device, device time and variant) is a duplicate; which reports are the
-- same is judged in Commit (tracker.AgainstStored).
CREATE UNIQUE INDEX fixes_device_time ON fixes (device_id, device_time, variant);
