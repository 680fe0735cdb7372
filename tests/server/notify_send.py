"""Sends one NOTIFY with psycopg (used by scripts/test-clients.sh while psql LISTENs).

Usage: python3 notify_send.py CHANNEL PAYLOAD   (PGHOST/PGPORT/PGUSER from the environment)
"""

import sys

import psycopg

with psycopg.connect(autocommit=True) as c:
    c.execute("SELECT pg_notify(%s, %s)", (sys.argv[1], sys.argv[2]))
