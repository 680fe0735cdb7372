-- The dump/restore fixture (tests/it/dump.rs and scripts/test-dump.sh):
-- every type, NULLs, awkward text, defaults, serial, generated columns,
-- CHECK/UNIQUE/PK/FK (CASCADE, DEFERRABLE), indexes, a view, comments
-- and a second schema. No pgvector objects (PostgreSQL's cluster may
-- lack the extension); the Rust test adds those.
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE public.color AS ENUM ('red', 'green');
CREATE TABLE public.kinds (
    id serial PRIMARY KEY,
    i2 smallint,
    i4 integer NOT NULL DEFAULT 7,
    i8 bigint,
    num numeric(12,3),
    numfree numeric,
    f4 real,
    f8 double precision,
    t text,
    vc varchar(20),
    ch char(5),
    b boolean,
    by bytea,
    d date,
    ts timestamp,
    tstz timestamptz,
    iv interval,
    u uuid,
    j json,
    jb jsonb,
    arr integer[],
    tarr text[],
    m app.mood,
    c color DEFAULT 'red',
    twice bigint GENERATED ALWAYS AS (i8 * 2) STORED,
    CONSTRAINT kinds_i4_positive CHECK (i4 > 0)
);
INSERT INTO kinds (i2, i4, i8, num, numfree, f4, f8, t, vc, ch, b, by, d, ts, tstz, iv, u, j, jb, arr, tarr, m, c) VALUES
 (1, 10, 100, 12.5, 3.14159265358979, 1.5, 2.25, 'plain', 'short', 'ab', true, '\xdeadbeef', '2024-01-31', '2024-01-31 12:00:00', '2024-01-31 12:00:00+00', '1 day 02:00:00', '0e37df36-f698-11e6-8dd4-cb9ced3df976', '{"a": [1, 2]}', '{"b": {"c": null}}', '{1,2,3}', '{"x y","q\"z"}', 'happy', 'green'),
 (NULL, 20, NULL, NULL, NULL, NULL, NULL, E'tab\there\nnewline \\ backslash ''quote'' "dq"', NULL, NULL, false, '\x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL, NULL, DEFAULT),
 (-32768, 2147483647, -922337203685477580, -0.001, 1e20, -0.5, 1e-300, '', 'x', 'abcde', NULL, NULL, '1999-12-31', '2000-02-29 23:59:59.999999', '1970-01-01 00:00:00+00', '-3 mons', NULL, '[]', '[]', '{NULL,4}', '{}', 'sad', NULL);
CREATE TABLE app.parent (
    id integer PRIMARY KEY,
    code text UNIQUE,
    note text
);
CREATE TABLE app.child (
    id bigserial PRIMARY KEY,
    parent_id integer REFERENCES app.parent (id) ON DELETE CASCADE,
    parent_code text,
    qty integer CHECK (qty >= 0),
    CONSTRAINT child_code_fk FOREIGN KEY (parent_code) REFERENCES app.parent (code)
        ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO app.parent VALUES (1, 'one', 'first'), (2, 'two', NULL), (3, 'three', 'line1
line2');
INSERT INTO app.child (parent_id, parent_code, qty) VALUES (1, 'one', 5), (2, 'two', 0), (NULL, NULL, NULL), (1, 'three', 9);
CREATE SEQUENCE public.counter START WITH 100 INCREMENT BY 5;
SELECT nextval('public.counter');
SELECT nextval('public.counter');
CREATE INDEX kinds_t_idx ON public.kinds (t);
CREATE INDEX kinds_lower_vc_idx ON public.kinds (lower(vc));
CREATE INDEX kinds_partial_idx ON public.kinds (i8 DESC) WHERE i8 > 0;
CREATE UNIQUE INDEX parent_note_idx ON app.parent (note);
CREATE VIEW public.big_kinds AS SELECT id, t, i8 FROM kinds WHERE i4 > 5;
CREATE VIEW app.child_totals AS SELECT p.code, sum(c.qty) AS total FROM app.parent p JOIN app.child c ON c.parent_id = p.id GROUP BY p.code;
COMMENT ON TABLE public.kinds IS 'one of each type';
COMMENT ON COLUMN public.kinds.t IS 'text, with ''quotes''';
COMMENT ON SCHEMA app IS 'the application';
COMMENT ON INDEX public.kinds_t_idx IS 'an index';
COMMENT ON TYPE app.mood IS 'how it feels';
