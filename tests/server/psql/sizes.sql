-- psql's \dt+, \di+, \d+ TABLE and \l+ (pg_table_size, pg_relation_size,
-- pg_database_size, pg_size_pretty) against neuraldb serve, and \d after
-- ALTER COLUMN TYPE. Sizes are whole pages, as PostgreSQL 15 shows them
-- for these tables of fixed-width columns (a text column would add
-- PostgreSQL's TOAST pages, which we do not have); \l+'s database size
-- depends on what ran before, so its output is discarded (an error would
-- still show). The owner is neuraldb (PostgreSQL: postgres).
\set ON_ERROR_STOP 0
CREATE TABLE sizes_empty (id int PRIMARY KEY, n int);
CREATE TABLE sizes_rows (id int PRIMARY KEY, n int);
CREATE INDEX sizes_rows_n ON sizes_rows (n);
INSERT INTO sizes_rows SELECT g, g FROM generate_series(1, 100) g;
\dt+ sizes_*
\di+ sizes_*
\d+ sizes_rows
\o /dev/null
\l+
\o
ALTER TABLE sizes_rows ALTER COLUMN n SET DATA TYPE bigint, ALTER COLUMN n SET NOT NULL;
ALTER TABLE sizes_rows ALTER COLUMN id TYPE varchar(10);
\d sizes_rows
\dt+ sizes_*
DROP TABLE sizes_empty, sizes_rows;
