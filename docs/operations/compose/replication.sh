#!/bin/bash
# Run once by the postgres image when it creates the primary's cluster (docker-entrypoint-initdb.d): lets the
# "scale" profile's replica copy it and stream from it with the soot role (a superuser in this image).
set -e
echo "host replication soot all scram-sha-256" >> "$PGDATA/pg_hba.conf"
