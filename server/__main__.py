from signstream.cli import main

raise SystemExit(main())
