-- psql's \d, \dt and \l against neuraldb serve. Differences from
-- PostgreSQL 15's output (describe.out is ours): the owner is neuraldb
-- (PostgreSQL: postgres); \l lists one database with C collation and no
-- template databases. \d TABLENAME does not work yet (see
-- docs/sql-deviations.md).
\set ON_ERROR_STOP 0
CREATE TABLE describe_owners (id int PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE describe_accounts (id int PRIMARY KEY, owner_id int REFERENCES describe_owners(id), balance numeric(10,2) NOT NULL DEFAULT 0);
CREATE INDEX describe_accounts_owner ON describe_accounts (owner_id);
\dt describe_*
\di describe_*
\l
DROP TABLE describe_accounts;
DROP TABLE describe_owners;
