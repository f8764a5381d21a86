"""The command-line commands, one module per area (see `mentor_notify.cli`)."""
