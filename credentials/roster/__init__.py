"""Roster import: parse a CSV or XLSX file, validate every row in sets, apply in batches.

parse.py reads bytes into rows; validate.py checks them against each other and the database
without writing; apply.py writes them, idempotently, batch by batch.
"""
