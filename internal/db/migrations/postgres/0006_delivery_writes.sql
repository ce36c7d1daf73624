-- The delivery path writes a delivery row per target at intake and an
-- attempt row per request, thousands a second. Foreign keys made each of
-- those writes a trigger and a row lock on the parent (events for a
-- delivery, deliveries for an attempt), and the lock taken on a delivery
-- by its attempt's check turned the delivery's update in the same statement
-- into a multixact. The code removes children with their parents
-- (hooks.Service.Clean, the calls' retention), so the keys go.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey;

-- An attempt has one owner: each unique index only holds the attempts of
-- its kind, rather than a NULL entry for every attempt of the other kind.
DROP INDEX attempts_delivery;
DROP INDEX attempts_call;
CREATE UNIQUE INDEX attempts_delivery ON attempts (delivery_id, number) WHERE delivery_id IS NOT NULL;
CREATE UNIQUE INDEX attempts_call ON attempts (call_id, number) WHERE call_id IS NOT NULL;
