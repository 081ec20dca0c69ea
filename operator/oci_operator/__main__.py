from oci_operator.cli import main

raise SystemExit(main())
