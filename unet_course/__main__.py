"""``python -m unet_course``: the same as the ``unet-course`` command (see :mod:`unet_course.cli`)."""
from unet_course.cli import main

raise SystemExit(main())
