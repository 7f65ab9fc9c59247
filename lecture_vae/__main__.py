"""``python -m lecture_vae ...``: the command line (see ``lecture_vae.cli``)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
