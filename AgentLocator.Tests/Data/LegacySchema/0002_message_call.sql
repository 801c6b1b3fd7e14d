-- Frozen copy of the previous release's hand-written migration 0002 (see 0001_initial.sql).
--
-- 0002: a message can be about a call (the business's lead notification), so the
-- notification job can tell whether it already sent one for that call.

ALTER TABLE messages ADD COLUMN call_id uuid;
ALTER TABLE messages ADD CONSTRAINT fk_messages_calls_call_id FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE SET NULL;
CREATE INDEX ix_messages_call_id ON messages (call_id);
