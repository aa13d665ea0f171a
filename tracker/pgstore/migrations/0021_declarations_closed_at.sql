-- The rules read the declarations closed within the weighing grace (DeclarationQuery.ClosedFrom)
-- at every start and take-over; active ones (closed_at NULL) are never asked for by it.
CREATE INDEX IF NOT EXISTS declarations_closed_at ON declarations (closed_at) WHERE closed_at IS NOT NULL;
