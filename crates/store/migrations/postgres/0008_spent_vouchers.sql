-- scepd store, schema 8 (PostgreSQL). Keep in step with ../sqlite/0008_spent_vouchers.sql;
-- why the ids of signed challenges have a table of their own is there.
CREATE TABLE spent_vouchers (
    id             TEXT   NOT NULL PRIMARY KEY,
    transaction_id TEXT   NOT NULL,
    spent_at       BIGINT NOT NULL
);
