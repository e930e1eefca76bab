-- The scheduler's hot queries, each served by an index in the order it reads:
-- claiming (due queued deliveries, best first), counting a line's open calls, and
-- finding expired leases. The claim index is in the claim's order (priority DESC,
-- then the longest waiting), so a claim reads the first rows it finds.
CREATE INDEX deliveries_claim ON deliveries (state, priority DESC, next_attempt_at, id);
CREATE INDEX deliveries_lease ON deliveries (state, lease_until);
CREATE INDEX attempts_open_line ON attempts (line, ended_at);

-- A request's documents rendered once as a fax TIFF (a blob), shared by every
-- recipient and every retry.
ALTER TABLE requests ADD COLUMN rendered_blob TEXT;
ALTER TABLE requests ADD COLUMN rendered_pages BIGINT;
