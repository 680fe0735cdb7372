--
-- PostgreSQL database dump
--

\restrict 4H9r5GeV5DtiIe9PP4KKI5OtHdU1BsSv17acWzgavyy4nPiF0qnRhzXm1FbdT7t

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: app; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA app;


ALTER SCHEMA app OWNER TO postgres;

--
-- Name: SCHEMA app; Type: COMMENT; Schema: -; Owner: postgres
--

COMMENT ON SCHEMA app IS 'the application';


--
-- Name: mood; Type: TYPE; Schema: app; Owner: postgres
--

CREATE TYPE app.mood AS ENUM (
    'sad',
    'ok',
    'happy'
);


ALTER TYPE app.mood OWNER TO postgres;

--
-- Name: TYPE mood; Type: COMMENT; Schema: app; Owner: postgres
--

COMMENT ON TYPE app.mood IS 'how it feels';


--
-- Name: color; Type: TYPE; Schema: public; Owner: postgres
--

CREATE TYPE public.color AS ENUM (
    'red',
    'green'
);


ALTER TYPE public.color OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: child; Type: TABLE; Schema: app; Owner: postgres
--

CREATE TABLE app.child (
    id bigint NOT NULL,
    parent_id integer,
    parent_code text,
    qty integer,
    CONSTRAINT child_qty_check CHECK ((qty >= 0))
);


ALTER TABLE app.child OWNER TO postgres;

--
-- Name: child_id_seq; Type: SEQUENCE; Schema: app; Owner: postgres
--

CREATE SEQUENCE app.child_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE app.child_id_seq OWNER TO postgres;

--
-- Name: child_id_seq; Type: SEQUENCE OWNED BY; Schema: app; Owner: postgres
--

ALTER SEQUENCE app.child_id_seq OWNED BY app.child.id;


--
-- Name: parent; Type: TABLE; Schema: app; Owner: postgres
--

CREATE TABLE app.parent (
    id integer NOT NULL,
    code text,
    note text
);


ALTER TABLE app.parent OWNER TO postgres;

--
-- Name: child_totals; Type: VIEW; Schema: app; Owner: postgres
--

CREATE VIEW app.child_totals AS
 SELECT p.code,
    sum(c.qty) AS total
   FROM (app.parent p
     JOIN app.child c ON ((c.parent_id = p.id)))
  GROUP BY p.code;


ALTER TABLE app.child_totals OWNER TO postgres;

--
-- Name: kinds; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.kinds (
    id integer NOT NULL,
    i2 smallint,
    i4 integer DEFAULT 7 NOT NULL,
    i8 bigint,
    num numeric(12,3),
    numfree numeric,
    f4 real,
    f8 double precision,
    t text,
    vc character varying(20),
    ch character(5),
    b boolean,
    by bytea,
    d date,
    ts timestamp without time zone,
    tstz timestamp with time zone,
    iv interval,
    u uuid,
    j json,
    jb jsonb,
    arr integer[],
    tarr text[],
    m app.mood,
    c public.color DEFAULT 'red'::public.color,
    twice bigint GENERATED ALWAYS AS ((i8 * 2)) STORED,
    CONSTRAINT kinds_i4_positive CHECK ((i4 > 0))
);


ALTER TABLE public.kinds OWNER TO postgres;

--
-- Name: TABLE kinds; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON TABLE public.kinds IS 'one of each type';


--
-- Name: COLUMN kinds.t; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON COLUMN public.kinds.t IS 'text, with ''quotes''';


--
-- Name: big_kinds; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.big_kinds AS
 SELECT kinds.id,
    kinds.t,
    kinds.i8
   FROM public.kinds
  WHERE (kinds.i4 > 5);


ALTER TABLE public.big_kinds OWNER TO postgres;

--
-- Name: counter; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.counter
    START WITH 100
    INCREMENT BY 5
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.counter OWNER TO postgres;

--
-- Name: kinds_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.kinds_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.kinds_id_seq OWNER TO postgres;

--
-- Name: kinds_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.kinds_id_seq OWNED BY public.kinds.id;


--
-- Name: child id; Type: DEFAULT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.child ALTER COLUMN id SET DEFAULT nextval('app.child_id_seq'::regclass);


--
-- Name: kinds id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.kinds ALTER COLUMN id SET DEFAULT nextval('public.kinds_id_seq'::regclass);


--
-- Data for Name: child; Type: TABLE DATA; Schema: app; Owner: postgres
--

COPY app.child (id, parent_id, parent_code, qty) FROM stdin;
1	1	one	5
2	2	two	0
3	\N	\N	\N
4	1	three	9
\.


--
-- Data for Name: parent; Type: TABLE DATA; Schema: app; Owner: postgres
--

COPY app.parent (id, code, note) FROM stdin;
1	one	first
2	two	\N
3	three	line1\nline2
\.


--
-- Data for Name: kinds; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.kinds (id, i2, i4, i8, num, numfree, f4, f8, t, vc, ch, b, by, d, ts, tstz, iv, u, j, jb, arr, tarr, m, c) FROM stdin;
1	1	10	100	12.500	3.14159265358979	1.5	2.25	plain	short	ab   	t	\\xdeadbeef	2024-01-31	2024-01-31 12:00:00	2024-01-31 12:00:00+00	1 day 02:00:00	0e37df36-f698-11e6-8dd4-cb9ced3df976	{"a": [1, 2]}	{"b": {"c": null}}	{1,2,3}	{"x y","q\\"z"}	happy	green
2	\N	20	\N	\N	\N	\N	\N	tab\there\nnewline \\ backslash 'quote' "dq"	\N	\N	f	\\x	\N	\N	\N	\N	\N	\N	\N	{}	\N	\N	red
3	-32768	2147483647	-922337203685477580	-0.001	100000000000000000000	-0.5	1e-300		x	abcde	\N	\N	1999-12-31	2000-02-29 23:59:59.999999	1970-01-01 00:00:00+00	-3 mons	\N	[]	[]	{NULL,4}	{}	sad	\N
\.


--
-- Name: child_id_seq; Type: SEQUENCE SET; Schema: app; Owner: postgres
--

SELECT pg_catalog.setval('app.child_id_seq', 4, true);


--
-- Name: counter; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.counter', 105, true);


--
-- Name: kinds_id_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.kinds_id_seq', 3, true);


--
-- Name: child child_pkey; Type: CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.child
    ADD CONSTRAINT child_pkey PRIMARY KEY (id);


--
-- Name: parent parent_code_key; Type: CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.parent
    ADD CONSTRAINT parent_code_key UNIQUE (code);


--
-- Name: parent parent_pkey; Type: CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.parent
    ADD CONSTRAINT parent_pkey PRIMARY KEY (id);


--
-- Name: kinds kinds_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.kinds
    ADD CONSTRAINT kinds_pkey PRIMARY KEY (id);


--
-- Name: parent_note_idx; Type: INDEX; Schema: app; Owner: postgres
--

CREATE UNIQUE INDEX parent_note_idx ON app.parent USING btree (note);


--
-- Name: kinds_lower_vc_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX kinds_lower_vc_idx ON public.kinds USING btree (lower((vc)::text));


--
-- Name: kinds_partial_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX kinds_partial_idx ON public.kinds USING btree (i8 DESC) WHERE (i8 > 0);


--
-- Name: kinds_t_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX kinds_t_idx ON public.kinds USING btree (t);


--
-- Name: INDEX kinds_t_idx; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON INDEX public.kinds_t_idx IS 'an index';


--
-- Name: child child_code_fk; Type: FK CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.child
    ADD CONSTRAINT child_code_fk FOREIGN KEY (parent_code) REFERENCES app.parent(code) ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED;


--
-- Name: child child_parent_id_fkey; Type: FK CONSTRAINT; Schema: app; Owner: postgres
--

ALTER TABLE ONLY app.child
    ADD CONSTRAINT child_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES app.parent(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict 4H9r5GeV5DtiIe9PP4KKI5OtHdU1BsSv17acWzgavyy4nPiF0qnRhzXm1FbdT7t

