"""The hosted CLI in a subprocess, against a test backend: ``python tests/hosted_double.py ARGS``.

hosted honours ``HOSTED_BACKEND`` only in a test process, for a module that process has
imported itself (the environment never makes hosted import a module); this launcher is
such a process for tests that need a real terminal or shell around the CLI."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _pytest  # noqa: F401 -- marks this as a test process
import cli_support  # noqa: F401 -- the backends HOSTED_BACKEND names

from hosted.cli.main import main

sys.exit(main(sys.argv[1:]))
