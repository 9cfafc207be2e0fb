"""Canteen purchase ledger and the monthly poverty-alleviation quota (plan item 19)."""
