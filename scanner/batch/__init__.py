"""Batch mode: many apps into one folder, a SQLite result store, an overview page, optional Dask cluster."""
