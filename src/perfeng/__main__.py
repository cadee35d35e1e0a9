from perfeng.cli.main import main

raise SystemExit(main())
