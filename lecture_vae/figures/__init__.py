"""Figures wing (matplotlib only): ``plots`` for training curves, image grids, latent maps and densities;
``diagrams`` for the VAE picture (S5) and the two computation graphs of the reparameterization trick (S8).

Import the modules themselves (``from lecture_vae.figures import plots, diagrams``): importing
``lecture_vae`` alone never imports matplotlib.
"""
