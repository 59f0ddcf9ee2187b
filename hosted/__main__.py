from hosted.cli.main import main

raise SystemExit(main())
