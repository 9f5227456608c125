"""`python -m desktop_app`: the same as the `bitlens-gui` command."""

from .app import main

raise SystemExit(main())
