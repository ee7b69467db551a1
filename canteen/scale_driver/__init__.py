"""Reads weighing indicators, turns readings into one event per diner, ships events to the server.

Runs on a small box beside the scale: never imports the server packages.
"""
