"""Accounts: logging in and out, passwords, throttling."""
