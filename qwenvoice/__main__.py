from qwenvoice.cli import main

raise SystemExit(main())
