-- NOTICEs of DDL that IF [NOT] EXISTS skips, as PostgreSQL 15 words them.
DROP TABLE IF EXISTS notice_nothere;
DROP INDEX IF EXISTS notice_nothere_idx;
DROP SEQUENCE IF EXISTS notice_nothere_seq;
CREATE TABLE notice_t (id int PRIMARY KEY, a int);
CREATE TABLE IF NOT EXISTS notice_t (id int);
CREATE INDEX IF NOT EXISTS notice_t_pkey ON notice_t (a);
CREATE SEQUENCE notice_s;
CREATE SEQUENCE IF NOT EXISTS notice_s;
ALTER TABLE IF EXISTS notice_nothere ADD COLUMN b int;
ALTER TABLE notice_t ADD COLUMN IF NOT EXISTS a int;
ALTER TABLE notice_t DROP COLUMN IF EXISTS nothere;
ALTER TABLE notice_t DROP CONSTRAINT IF EXISTS nothere;
DROP TABLE notice_t;
DROP SEQUENCE notice_s;
