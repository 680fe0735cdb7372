-- psql against neuraldb serve (a fresh database): transactions,
-- savepoints, errors with SQLSTATE, COPY. The expected output,
-- transactions.out, is what PostgreSQL 15 prints for this script.
\set ON_ERROR_STOP 0
\set SHOW_CONTEXT never
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(10,2) CHECK (balance >= 0));
INSERT INTO accounts VALUES (1, 'alice', 100), (2, 'bob', 50);
BEGIN;
UPDATE accounts SET balance = balance - 30 WHERE id = 1;
SAVEPOINT before_bob;
UPDATE accounts SET balance = balance + 30 WHERE id = 2;
ROLLBACK TO SAVEPOINT before_bob;
UPDATE accounts SET balance = balance + 30 WHERE id = 2;
RELEASE SAVEPOINT before_bob;
COMMIT;
SELECT * FROM accounts ORDER BY id;
-- errors and their codes
INSERT INTO accounts VALUES (1, 'carol', 10);
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET balance = -1 WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO accounts (id) VALUES (3);
\echo :LAST_ERROR_SQLSTATE
SELECT 2147483647 + 1;
\echo :LAST_ERROR_SQLSTATE
SELECT 1/0;
\echo :LAST_ERROR_SQLSTATE
-- a failed block until ROLLBACK
BEGIN;
SELECT balance FROM accounts WHERE id = 1;
SELECT balance / 0 FROM accounts;
SELECT 1;
\echo :LAST_ERROR_SQLSTATE
COMMIT;
SELECT count(*) FROM accounts;
-- COPY in and out
COPY accounts (id, owner, balance) FROM STDIN;
10	dave	1.5
11	erin	\N
\.
COPY accounts TO STDOUT;
COPY (SELECT id, owner FROM accounts WHERE id > 9 ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER);
TRUNCATE accounts;
SELECT count(*) FROM accounts;
SHOW standard_conforming_strings;
-- statement_timeout stops a running statement (57014)
SET statement_timeout = '100ms';
SELECT count(*) FROM generate_series(1, 30000) a, generate_series(1, 30000) b WHERE a + b < 0;
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SHOW statement_timeout;
