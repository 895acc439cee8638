"""The provider node: daemon (watcher, policy, dispatcher, submitter, ledger) and GPU workers."""
