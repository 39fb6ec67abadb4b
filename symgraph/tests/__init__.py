"""Theano's ``theano.tests``: ``unittest_tools`` for code whose tests import it."""
