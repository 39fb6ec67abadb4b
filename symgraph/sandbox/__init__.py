"""Theano's ``sandbox`` import paths (``symgraph.sandbox.rng_mrg.MRG_RandomStreams``)."""
