"""`python -m dllab` is the `dllab` command."""

from dllab.cli import main

raise SystemExit(main())
