"""Classroom wing: what a lecturer shows and a student plays with.

- ``explorers``: the computations behind the widgets (tested against closed forms and quadrature);
- ``explorer_plots``: their matplotlib drawings;
- ``widgets``: the ipywidgets explorers of notebook 10 (Bayes/ELBO gap, reparameterization, latent space);
- ``student``: student copies of the notebooks (``python -m lecture_vae.classroom.student OUT``).

Import the modules themselves; importing ``lecture_vae`` alone never imports ipywidgets or matplotlib.
"""
