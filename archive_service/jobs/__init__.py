"""Background jobs: digitisation, indexing, fixity checks and replication, run by workers.

The database is the queue (the `job` table); a worker claims a job by a compare-and-set on its
row and holds a lease it renews while working. With `ARCHIVE_BROKER_URL` set, Celery workers on
any number of hosts run the same jobs: the broker only rings the bell (the job id), the row
still decides who works on it, so a message delivered twice or lost costs nothing.
"""
