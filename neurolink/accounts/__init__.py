"""Accounts: encrypted keystore v3 files and the password sources that unlock them."""
