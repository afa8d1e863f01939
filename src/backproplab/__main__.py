from backproplab.cli import main

raise SystemExit(main())
