"""Helpers the tests share (test data made at test time, never committed)."""
