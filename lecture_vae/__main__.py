"""``python -m lecture_vae ...``: the command line (see ``lecture_vae.training.cli``)."""

from .training.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
