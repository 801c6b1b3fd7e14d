-- Frozen copy of the previous release's hand-written migration 0001, as its SQL runner applied it.
-- The EF baseline replaced it; MigrationTests builds a legacy database from these scripts to prove
-- that such a database is adopted and ends up with the schema the EF migrations build.
--
-- 0001: the initial schema. Written by hand (no EF Core Design package here); the drift
-- test compares it with the EF model. Names are snake_case, as SnakeCaseNaming gives them.

CREATE TABLE businesses (
    id uuid NOT NULL,
    name text NOT NULL,
    whats_app_number text,
    notification_phone text,
    time_zone text NOT NULL,
    greeting_text text,
    whats_app_auto_reply text,
    max_recording_seconds integer NOT NULL,
    active boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT pk_businesses PRIMARY KEY (id)
);
-- One live business per WhatsApp sender; a soft-deleted one frees its sender.
CREATE UNIQUE INDEX ix_businesses_whats_app_number ON businesses (whats_app_number) WHERE whats_app_number IS NOT NULL AND deleted_at IS NULL;

-- A Twilio number belongs to exactly one business: the number is the key.
CREATE TABLE business_phone_numbers (
    number text NOT NULL,
    business_id uuid NOT NULL,
    CONSTRAINT pk_business_phone_numbers PRIMARY KEY (number),
    CONSTRAINT fk_business_phone_numbers_businesses_business_id FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE CASCADE
);
CREATE INDEX ix_business_phone_numbers_business_id ON business_phone_numbers (business_id);

CREATE TABLE customers (
    id uuid NOT NULL,
    business_id uuid NOT NULL,
    name text,
    phone text,
    wa_id text,
    notes text,
    source text NOT NULL,
    first_contact_at timestamp with time zone NOT NULL,
    last_contact_at timestamp with time zone NOT NULL,
    last_inbound_message_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT pk_customers PRIMARY KEY (id),
    CONSTRAINT fk_customers_businesses_business_id FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE RESTRICT
);
CREATE UNIQUE INDEX ix_customers_business_id_phone ON customers (business_id, phone) WHERE phone IS NOT NULL;
CREATE INDEX ix_customers_phone ON customers (phone);
CREATE INDEX ix_customers_business_id_wa_id ON customers (business_id, wa_id);

CREATE TABLE calls (
    id uuid NOT NULL,
    call_sid text NOT NULL,
    business_id uuid NOT NULL,
    customer_id uuid,
    "from" text NOT NULL,
    "to" text NOT NULL,
    direction text NOT NULL,
    status text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    duration_seconds integer,
    stream_started boolean NOT NULL,
    stream_sid text,
    stream_started_at timestamp with time zone,
    stream_stopped_at timestamp with time zone,
    stream_error text,
    fallback_used boolean NOT NULL,
    fallback_reason text,
    watchdog_fired_at timestamp with time zone,
    conversation_completed boolean NOT NULL,
    is_test boolean NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT pk_calls PRIMARY KEY (id),
    CONSTRAINT fk_calls_businesses_business_id FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE RESTRICT,
    CONSTRAINT fk_calls_customers_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX ix_calls_call_sid ON calls (call_sid);
CREATE INDEX ix_calls_business_id_started_at ON calls (business_id, started_at);
CREATE INDEX ix_calls_customer_id ON calls (customer_id);
CREATE INDEX ix_calls_from ON calls ("from");

CREATE TABLE recordings (
    id uuid NOT NULL,
    call_id uuid NOT NULL,
    customer_id uuid,
    recording_sid text,
    recording_url text NOT NULL,
    duration_seconds integer,
    status text NOT NULL,
    storage_path text,
    content_type text,
    size_bytes bigint,
    created_at timestamp with time zone NOT NULL,
    stored_at timestamp with time zone,
    CONSTRAINT pk_recordings PRIMARY KEY (id),
    CONSTRAINT fk_recordings_calls_call_id FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE RESTRICT,
    CONSTRAINT fk_recordings_customers_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX ix_recordings_recording_sid ON recordings (recording_sid) WHERE recording_sid IS NOT NULL;
CREATE INDEX ix_recordings_call_id ON recordings (call_id);
CREATE INDEX ix_recordings_customer_id ON recordings (customer_id);

CREATE TABLE utterances (
    id uuid NOT NULL,
    call_id uuid NOT NULL,
    customer_id uuid,
    sequence integer NOT NULL,
    slot text NOT NULL,
    audio_path text NOT NULL,
    duration_ms integer NOT NULL,
    transcript text,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT pk_utterances PRIMARY KEY (id),
    CONSTRAINT fk_utterances_calls_call_id FOREIGN KEY (call_id) REFERENCES calls (id) ON DELETE RESTRICT,
    CONSTRAINT fk_utterances_customers_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX ix_utterances_call_id_sequence ON utterances (call_id, sequence);
CREATE INDEX ix_utterances_customer_id ON utterances (customer_id);

CREATE TABLE messages (
    id uuid NOT NULL,
    business_id uuid NOT NULL,
    customer_id uuid,
    message_sid text,
    direction text NOT NULL,
    channel text NOT NULL,
    "from" text NOT NULL,
    "to" text NOT NULL,
    body text,
    media_urls text[] NOT NULL,
    media_content_types text[] NOT NULL,
    content_sid text,
    content_variables text,
    status text NOT NULL,
    error_code text,
    error_message text,
    purpose text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT pk_messages PRIMARY KEY (id),
    CONSTRAINT fk_messages_businesses_business_id FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE RESTRICT,
    CONSTRAINT fk_messages_customers_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX ix_messages_message_sid ON messages (message_sid) WHERE message_sid IS NOT NULL;
CREATE INDEX ix_messages_business_id ON messages (business_id);
CREATE INDEX ix_messages_customer_id_created_at ON messages (customer_id, created_at);

-- The durable work queue: claimed with FOR UPDATE SKIP LOCKED, visible to operators.
CREATE TABLE jobs (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    type text NOT NULL,
    payload jsonb NOT NULL,
    dedup_key text,
    status text NOT NULL,
    attempts integer NOT NULL,
    max_attempts integer NOT NULL,
    run_at timestamp with time zone NOT NULL,
    locked_by text,
    locked_until timestamp with time zone,
    last_error text,
    trace_parent text,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT pk_jobs PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_jobs_dedup_key ON jobs (dedup_key) WHERE dedup_key IS NOT NULL;
CREATE INDEX ix_jobs_status_run_at ON jobs (status, run_at);
