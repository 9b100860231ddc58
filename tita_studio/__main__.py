"""`python -m tita_studio` runs the command line."""

from tita_studio.cli.main import main

raise SystemExit(main())
