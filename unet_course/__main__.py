"""``python -m unet_course``: the same as the ``unet-course`` command (see :mod:`unet_course.cli`)."""
from unet_course.cli import main

if __name__ == "__main__":  # not again in the worker processes that Dask spawns
    raise SystemExit(main())
