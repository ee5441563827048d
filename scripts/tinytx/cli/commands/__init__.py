"""One module per ``tinytx`` subcommand."""
