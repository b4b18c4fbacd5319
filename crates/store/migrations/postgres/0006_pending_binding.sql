-- scepd store, schema 6 (PostgreSQL). Keep in step with ../sqlite/0006_pending_binding.sql;
-- why a held request keeps its binding, and what binding_recorded = 0 means, is there.
ALTER TABLE pending_requests ADD COLUMN binding_recorded BIGINT NOT NULL DEFAULT 0
    CHECK (binding_recorded IN (0, 1));
ALTER TABLE pending_requests ADD COLUMN binding_template TEXT;
ALTER TABLE pending_requests ADD COLUMN binding_subject TEXT;

CREATE TABLE pending_request_binding_sans (
    request_id BIGINT NOT NULL REFERENCES pending_requests (id),
    position   BIGINT NOT NULL,
    san        TEXT   NOT NULL,
    PRIMARY KEY (request_id, position)
);
