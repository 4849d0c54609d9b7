"""`python -m bot` is the same as the `opsbot` command."""

from bot.runtime.cli import main

raise SystemExit(main())
