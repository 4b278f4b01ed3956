"""Expiry, unit-shortfall and fee reminders: the schedule, the daily scan, and sending each once.

`schedule` holds the date rule, `selectors` the reads (what is due, what an email says) and
`services` the writes (recording what fell due, claiming and sending it).
"""
