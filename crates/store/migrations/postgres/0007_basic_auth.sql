-- scepd store, schema 7 (PostgreSQL). Keep in step with ../sqlite/0007_basic_auth.sql; why an
-- account is marked for HTTP Basic is there. A 0/1 BIGINT like `disabled`, so the shared
-- queries decode the same integer on both backends.
ALTER TABLE users ADD COLUMN basic_auth BIGINT NOT NULL DEFAULT 0
    CHECK (basic_auth IN (0, 1));
