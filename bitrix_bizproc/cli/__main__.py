"""``python -m bitrix_bizproc.cli``: the same as the ``bizproc`` command."""

from . import main

raise SystemExit(main())
