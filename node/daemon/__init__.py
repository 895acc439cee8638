"""The provider daemon: watcher, policy, dispatcher, submitter and ledger, each with start/stop."""
