-- resq-jdbc: the tables of the transactional outbox and of the idempotent inbox, for PostgreSQL 11+.
--
-- Copy this file into a Flyway or Liquibase migration as it is, or let Outbox.createSchema(connection)
-- and Inbox.createSchema() run it for tests and quick starts (every statement is IF NOT EXISTS).
-- The names below are the defaults. With other names (Outbox.Builder.table, Inbox.Builder.table),
-- replace "resq_outbox" and "resq_inbox" everywhere, as a prefix too: the dead-letter table and the
-- indexes are named after their table. The tables live in the connection's current schema
-- (search_path; "currentSchema" on a PostgreSQL JDBC URL).
-- Statements end with a semicolon at the end of a line; there are no functions or triggers.

-- The outbox: one row per message written by Outbox.send in the application's transaction.
-- seq orders the rows; OutboxRelay sends them in seq order per key (see docs/outbox-inbox.md).
CREATE TABLE IF NOT EXISTS resq_outbox (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue      TEXT        NOT NULL,                -- the resq queue the message goes to
    message_id TEXT        NOT NULL,                -- Msg.id(), also in the body
    msg_key    TEXT,                                -- Msg.key(), the ordering key, or NULL
    key_hash   INTEGER     NOT NULL,                -- hash of msg_key (of message_id when NULL): picks the relay partition
    headers    TEXT        NOT NULL,                -- the broker headers, a JSON object of strings
    body       BYTEA       NOT NULL,                -- the body exactly as the broker carries it (the resq envelope)
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at    TIMESTAMPTZ                          -- when the broker confirmed it; NULL until then
);

-- What the relay reads: rows not yet sent, in seq order. Partial, so it stays as small as the backlog.
CREATE INDEX IF NOT EXISTS resq_outbox_unsent ON resq_outbox (seq) WHERE sent_at IS NULL;

-- What retention prunes: rows kept after sending (OutboxRelay.Builder.retention above zero).
CREATE INDEX IF NOT EXISTS resq_outbox_sent ON resq_outbox (sent_at) WHERE sent_at IS NOT NULL;

-- Rows the relay can never send (a body over the transport's limit), moved here with the reason,
-- never pruned. To try one again, insert it back into resq_outbox (without seq) and delete it here.
CREATE TABLE IF NOT EXISTS resq_outbox_deadletter (
    seq        BIGINT      PRIMARY KEY,             -- its seq in resq_outbox
    queue      TEXT        NOT NULL,
    message_id TEXT        NOT NULL,
    msg_key    TEXT,
    key_hash   INTEGER     NOT NULL,
    headers    TEXT        NOT NULL,
    body       BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    failed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    reason     TEXT        NOT NULL                 -- why it cannot be sent
);

-- The inbox: one row per message a consumer group processed, written in the handler's transaction.
-- The primary key is what makes a second delivery of the same id wait for, then skip, the first.
CREATE TABLE IF NOT EXISTS resq_inbox (
    group_name   TEXT        NOT NULL,
    message_id   TEXT        NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (group_name, message_id)
);

-- What pruning deletes: entries older than the inbox's retention.
CREATE INDEX IF NOT EXISTS resq_inbox_processed_at ON resq_inbox (processed_at);
