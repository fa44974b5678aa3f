"""Alembic migrations of the results store (run by :class:`aichaos.store.ResultStore` on open).

Add one with ``alembic -c src/aichaos/store/migrations/alembic.ini revision -m "what"``
(from the repository root); a migration only adds (columns, tables, indexes), so a reader of
an older revision still works.
"""
