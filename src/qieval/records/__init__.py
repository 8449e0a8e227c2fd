"""Record-level input: derive measure values from one row per patient per period (or per referral)
with declarative definitions in the params, aggregated by an embedded columnar engine (DuckDB).

- :mod:`.source`: open the records (CSV, Parquet, or a SQL query over a SQLAlchemy URL) as DuckDB views;
- :mod:`.compile`: every ``from_records`` definition → one SQL query (site × period, and again per
  breakdown, ``UNION ALL``);
- :mod:`.checks`: data-quality rules on the records, as ``FILE:ROW:COLUMN`` problems;
- :mod:`.engine`: :func:`derive` ties them together and completes the site × period grid.
"""

from .engine import RecordValues, derive

__all__ = ["RecordValues", "derive"]
