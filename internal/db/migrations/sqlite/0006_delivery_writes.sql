-- On PostgreSQL this migration drops the foreign keys of the delivery path
-- (see postgres/0006); SQLite checks them without locking a parent row and
-- cannot drop a constraint without rebuilding its table, so here they stay.
-- The code removes children with their parents on both.

-- An attempt has one owner: each unique index only holds the attempts of
-- its kind, rather than a NULL entry for every attempt of the other kind.
DROP INDEX attempts_delivery;
DROP INDEX attempts_call;
CREATE UNIQUE INDEX attempts_delivery ON attempts (delivery_id, number) WHERE delivery_id IS NOT NULL;
CREATE UNIQUE INDEX attempts_call ON attempts (call_id, number) WHERE call_id IS NOT NULL;
