-- New deliveries travel to the worker together: the first attempts of the
-- deliveries of an intake go on the queue as batch tasks of up to 64
-- (jobs.TypeDeliveryBatch), one queue operation for many deliveries. A
-- delivery keeps the id of the batch that carries its first attempt, so
-- that the sweep and a repeated event do not queue it a second time while
-- that batch is still on the queue. Empty for deliveries queued alone.
ALTER TABLE deliveries ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';
